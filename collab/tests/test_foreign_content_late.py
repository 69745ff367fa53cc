"""Yjs items that arrive before the items they depend on (SPEC §5.4, §5.7).

An update whose items depend on items the server does not hold yet (another client's missing clocks)
stays pending inside the document; it integrates when a later update brings them. A foreign insert in
the root `content` sent that way is refused when it would integrate: the update that completes it is
refused like a direct foreign insert, on every path and after compaction. A real client's pending edit
(two tabs of one browser sharing edits, each tab's socket sending its own) is accepted, and everyone gets
it once its dependency arrives.
"""

import json

import pycrdt
import pytest
from django.contrib.postgres.search import SearchQuery

from collab import protocol as p
from collab import services, store
from collab.markdown import content_fragment
from collab.models import CollabUpdate
from collab.tests.live import stored_doc, stored_markdown, synced_clients, wait_servers_idle
from collab.tests.rest_state import appended, b64, content_markdown, content_of, post_update, served_doc, served_state
from collab.tests.yclient import YWebsocketClient
from documents.models import Document
from documents.tests.helpers import assert_problem

THIRD_CLIENT_ID = 555000111
HOSTILE_CLIENT_ID = 987654321
TAB_CLIENT_ID = 444000222

FOREIGN = {
    "text": lambda: pycrdt.Text("late foreign text"),
    "map": lambda: pycrdt.Map({"key": "value"}),
    "array": lambda: pycrdt.Array([1, "two"]),
    "value": lambda: "a plain string",
}


def _doc(state: bytes, client_id: int, *updates: bytes) -> pycrdt.Doc:
    doc = pycrdt.Doc(client_id=client_id)
    for update in (state, *updates):
        doc.apply_update(update)
    return doc


def third_paragraph(state: bytes, text: str = "From a third client.") -> bytes:
    """A third client's update: a paragraph appended to the document."""
    doc = _doc(state, THIRD_CLIENT_ID)
    before = doc.get_state()
    content_fragment(doc).children.append(pycrdt.XmlElement("paragraph", {}, [pycrdt.XmlText(text)]))
    return doc.get_update(before)


def late_foreign(state: bytes, dependency: bytes, kind: str) -> bytes:
    """A foreign root item inserted right after the items of `dependency`, without them: pending on a server that
    lacks `dependency`."""
    doc = _doc(state, HOSTILE_CLIENT_ID, dependency)
    before = doc.get_state()
    doc.get("content", type=pycrdt.Array).append(FOREIGN[kind]())
    return doc.get_update(before)


def late_paragraph(state: bytes, dependency: bytes, text: str) -> bytes:
    """Another tab's paragraph typed after the paragraph of `dependency`, which this tab got over the browser's
    channel: a legitimate update, pending until `dependency` arrives."""
    doc = _doc(state, TAB_CLIENT_ID, dependency)
    before = doc.get_state()
    content_fragment(doc).children.append(pycrdt.XmlElement("paragraph", {}, [pycrdt.XmlText(text)]))
    return doc.get_update(before)


def root_items(doc: pycrdt.Doc) -> list[str]:
    """The type names of every item of the root `content` (an array view lists what the fragment view hides)."""
    return [type(item).__name__ for item in doc.get("content", type=pycrdt.Array)]


def holds_no_foreign_root_item(doc: pycrdt.Doc) -> bool:
    return set(root_items(doc)) <= {"XmlElement", "XmlText"}


def integrated_clients(doc: pycrdt.Doc) -> set[int]:
    return set(p.decode_state_vector(doc.get_state()))


def searchable(document_id, word: str) -> bool:
    return Document.objects.filter(pk=document_id, search_vector=SearchQuery(word)).exists()


# --- REST: POST yjs-state ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", FOREIGN)
@pytest.mark.parametrize("compact", [False, True], ids=["log", "compacted"])
def test_foreign_content_late_rest_completing_update_is_refused(team, live_doc, kind, compact):
    client = team.client("editor")
    state = served_state(client, live_doc.pk)
    dependency = third_paragraph(state)
    pending = post_update(client, live_doc.pk, late_foreign(state, dependency, kind))
    assert pending.status_code == 200, pending.content  # merely pending: nothing to refuse yet
    if compact:
        assert store.compact(live_doc.pk) == 1
    rows = CollabUpdate.objects.filter(document=live_doc).count()
    refused = post_update(client, live_doc.pk, dependency)
    body = assert_problem(refused, 400, "invalid-yjs-update")
    assert "update_b64" in body["errors"]
    assert CollabUpdate.objects.filter(document=live_doc).count() == rows
    doc = stored_doc(live_doc.pk)
    assert holds_no_foreign_root_item(doc)
    assert not {HOSTILE_CLIENT_ID, THIRD_CLIENT_ID} & integrated_clients(doc)
    # Later legitimate edits reach the markdown, the search index and what the REST clients are served.
    edit = post_update(client, live_doc.pk, appended(b64(served_state(client, live_doc.pk)), " Marmalade."))
    assert edit.status_code == 200, edit.content
    expected = "# Title\n\nFirst paragraph.\n\nSecond paragraph. Marmalade.\n"
    assert content_of(client, live_doc.pk) == expected
    assert searchable(live_doc.pk, "marmalade")
    served = served_doc(b64(served_state(client, live_doc.pk)))
    assert content_markdown(served) == expected
    assert holds_no_foreign_root_item(served)
    # The log still holds the pending items: the stored state loads, compacts and materializes.
    store.compact(live_doc.pk)
    assert holds_no_foreign_root_item(stored_doc(live_doc.pk))
    assert stored_markdown(live_doc.pk) == expected
    assert post_update(client, live_doc.pk, dependency).status_code == 400  # still refused after compaction


@pytest.mark.django_db
@pytest.mark.parametrize("compact", [False, True], ids=["log", "compacted"])
def test_foreign_content_late_rest_legitimate_pending_edit_is_kept(team, live_doc, compact):
    client = team.client("editor")
    state = served_state(client, live_doc.pk)
    first_tab = third_paragraph(state, "Typed in the first tab.")
    second_tab = late_paragraph(state, first_tab, "Typed in the second tab.")
    response = post_update(client, live_doc.pk, second_tab)
    assert response.status_code == 200, response.content
    assert content_of(client, live_doc.pk) == "# Title\n\nFirst paragraph.\n\nSecond paragraph.\n"
    assert services.collab_materialize(live_doc.pk) is False  # nothing integrated yet, nothing to write
    if compact:
        assert store.compact(live_doc.pk) == 1
    response = post_update(client, live_doc.pk, first_tab)
    assert response.status_code == 200, response.content
    expected = (
        "# Title\n\nFirst paragraph.\n\nSecond paragraph.\n\nTyped in the first tab.\n\nTyped in the second tab.\n"
    )
    assert content_of(client, live_doc.pk) == expected
    assert {THIRD_CLIENT_ID, TAB_CLIENT_ID} <= integrated_clients(stored_doc(live_doc.pk))
    store.compact(live_doc.pk)
    assert stored_markdown(live_doc.pk) == expected
    assert content_markdown(served_doc(b64(served_state(client, live_doc.pk)))) == expected


@pytest.mark.django_db
def test_foreign_content_late_rest_pending_deletion_survives_compaction(team, live_doc):
    """A deletion of items the server does not hold yet is pending too; compaction keeps it."""
    client = team.client("editor")
    state = served_state(client, live_doc.pk)
    first_tab = third_paragraph(state, "Typed then deleted.")
    doc = _doc(state, TAB_CLIENT_ID, first_tab)
    before = doc.get_state()
    blocks = content_fragment(doc).children
    del blocks[len(blocks) - 1]
    deletion = doc.get_update(before)
    assert post_update(client, live_doc.pk, deletion).status_code == 200
    assert store.compact(live_doc.pk) == 1
    assert post_update(client, live_doc.pk, first_tab).status_code == 200
    assert "deleted" not in content_of(client, live_doc.pk)
    assert "deleted" not in stored_markdown(live_doc.pk)


@pytest.mark.django_db
def test_foreign_content_late_materialization_of_a_log_with_pending_items(team, live_doc):
    """Pending items in the log neither stop materialization nor reach the markdown."""
    client = team.client("editor")
    state = served_state(client, live_doc.pk)
    assert post_update(client, live_doc.pk, late_foreign(state, third_paragraph(state), "text")).status_code == 200
    assert post_update(client, live_doc.pk, late_paragraph(state, third_paragraph(state), "Never.")).status_code == 200
    edit = post_update(client, live_doc.pk, appended(b64(state), " Quince."))
    assert edit.status_code == 200, edit.content
    expected = "# Title\n\nFirst paragraph.\n\nSecond paragraph. Quince.\n"
    assert content_of(client, live_doc.pk) == expected
    assert searchable(live_doc.pk, "quince")
    snapshot = store.load_snapshot(live_doc.pk)
    assert content_markdown(snapshot.as_doc()) == expected
    assert store.compact(live_doc.pk) == 3
    assert stored_markdown(live_doc.pk) == expected
    assert services.collab_materialize(live_doc.pk) is False


# --- sync push: POST documents/batch with the editor's Yjs state ----------------------------------------------


def _batch_update(client, workspace, document_id, state: bytes, number: int):
    operation = {
        "operation": "update",
        "clientId": f"update_{number}",
        "documentId": str(document_id),
        "data": {"title": "Live notes", "yjs_state_b64": b64(state)},
        "expectedVersion": None,
    }
    response = client.post(
        "/api/v1/documents/batch",
        json.dumps({"workspace_id": str(workspace.pk), "operations": [operation], "atomic": False}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    (result,) = response.json()["results"]
    return result


@pytest.mark.django_db
@pytest.mark.parametrize("compact", [False, True], ids=["log", "compacted"])
def test_foreign_content_late_sync_push_completing_state_is_refused(team, live_doc, compact):
    client = team.client("editor")
    state = served_state(client, live_doc.pk)
    dependency = third_paragraph(state)
    assert (
        _batch_update(client, team.workspace, live_doc.pk, late_foreign(state, dependency, "map"), 1)["status"]
        == "success"
    )
    if compact:
        assert store.compact(live_doc.pk) == 1
    result = _batch_update(client, team.workspace, live_doc.pk, dependency, 2)
    assert result["status"] == "error" and "yjs_state_b64" in result["error"]
    assert holds_no_foreign_root_item(stored_doc(live_doc.pk))
    later = _batch_update(
        client, team.workspace, live_doc.pk, appended(b64(served_state(client, live_doc.pk)), " Pushed."), 3
    )
    assert later["status"] == "success", later
    assert content_of(client, live_doc.pk) == "# Title\n\nFirst paragraph.\n\nSecond paragraph. Pushed.\n"


# --- the sockets -------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("dialect", ["ywebsocket", "hocuspocus"])
def test_foreign_content_late_socket_completing_update_is_refused(daphne, steps, tokens, live_doc, dialect):
    """The pending foreign item is accepted and relayed; a refused update in between resets what the room checks
    against; the update that would integrate the foreign item is refused all the same."""
    state = store.load_snapshot(live_doc.pk).as_doc().get_update()
    dependency = third_paragraph(state)

    async def scenario():
        hostile, neighbour = await synced_clients(steps, daphne, live_doc.pk, tokens["editor"], tokens["owner"])
        (third,) = await synced_clients(steps, daphne, live_doc.pk, tokens["admin"], dialect=dialect)
        await hostile.send_sync(p.SYNC_UPDATE, late_foreign(state, dependency, "text"))
        await hostile.ping()
        # A direct foreign insert, refused: the room rebuilds the document it checks updates on.
        direct = pycrdt.Doc(client_id=HOSTILE_CLIENT_ID + 1)
        direct.apply_update(state)
        before = direct.get_state()
        direct.get("content", type=pycrdt.Map)["key"] = "value"
        await hostile.send_sync(p.SYNC_UPDATE, direct.get_update(before))
        await hostile.wait_for(lambda: hostile.events_of("error"))
        if dialect == "hocuspocus":
            # The reply to the server's sync step 1 is acknowledged too, possibly after `synced`.
            await third.wait_for(lambda: len(third.statuses) == len(third.sent))
        acknowledged = len(third.statuses)
        await third.send_update(dependency)
        await third.wait_for(lambda: third.events_of("error"))
        # The room keeps working: a good edit reaches everyone, a newcomer gets the document without foreign items.
        run = neighbour.fragment.children[2].children[0]
        run.insert(len(run), " Still live.")
        await third.wait_for(lambda: "Still live." in third.text)
        newcomer = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        await newcomer.wait_for(lambda: newcomer.synced.is_set() and "Still live." in newcomer.text)
        await third.ping()
        if dialect == "hocuspocus":
            await third.wait_for(lambda: len(third.statuses) >= len(third.sent))
        for client in (hostile, neighbour, third, newcomer):  # the room closes: it materializes and compacts
            await client.close()
        return neighbour, third, newcomer, third.statuses[acknowledged:]

    neighbour, third, newcomer, statuses = steps(scenario())
    assert [error["code"] for error in third.events_of("error")] == ["invalid_update"]
    if dialect == "hocuspocus":
        assert statuses == [0]
    for client in (neighbour, newcomer):
        assert holds_no_foreign_root_item(client.doc), root_items(client.doc)
        assert HOSTILE_CLIENT_ID not in integrated_clients(client.doc)
    wait_servers_idle()
    doc = stored_doc(live_doc.pk)
    assert holds_no_foreign_root_item(doc) and not {HOSTILE_CLIENT_ID, THIRD_CLIENT_ID} & integrated_clients(doc)
    expected = "# Title\n\nFirst paragraph.\n\nSecond paragraph. Still live.\n"
    assert stored_markdown(live_doc.pk) == expected
    services.collab_materialize(live_doc.pk)  # whether or not the closing room has done it yet
    assert Document.objects.get(pk=live_doc.pk).content == expected


@pytest.mark.django_db(transaction=True)
def test_foreign_content_late_socket_room_loaded_with_pending_items_refuses_completion(daphne, steps, tokens, live_doc):
    """A room that loads a log (or a compacted state) holding a pending foreign item checks against it too."""
    state = store.load_snapshot(live_doc.pk).as_doc().get_update()
    dependency = third_paragraph(state)
    store.apply_update(live_doc.pk, late_foreign(state, dependency, "array"), user_id=None)
    store.compact(live_doc.pk)

    async def scenario():
        third, neighbour = await synced_clients(steps, daphne, live_doc.pk, tokens["admin"], tokens["owner"])
        await third.send_sync(p.SYNC_UPDATE, dependency)
        await third.wait_for(lambda: third.events_of("error"))
        run = third.fragment.children[2].children[0]
        run.insert(len(run), " After the refusal.")
        await neighbour.wait_for(lambda: "After the refusal." in neighbour.text)
        await third.ping()
        await third.close()
        await neighbour.close()
        return third, neighbour

    third, neighbour = steps(scenario())
    assert [error["code"] for error in third.events_of("error")] == ["invalid_update"]
    assert holds_no_foreign_root_item(neighbour.doc)
    wait_servers_idle()
    assert holds_no_foreign_root_item(stored_doc(live_doc.pk))
    expected = "# Title\n\nFirst paragraph.\n\nSecond paragraph. After the refusal.\n"
    services.collab_materialize(live_doc.pk)  # whether or not the closing room has done it yet
    assert Document.objects.get(pk=live_doc.pk).content == expected


@pytest.mark.django_db(transaction=True)
def test_foreign_content_late_socket_pending_edit_reaches_everyone(daphne, steps, tokens, live_doc):
    """Two tabs of one browser: the second tab's edit depends on the first tab's, and its socket is faster. A
    client that joins in between gets the edit too once the first tab's update arrives."""
    state = store.load_snapshot(live_doc.pk).as_doc().get_update()
    first_tab = third_paragraph(state, "Typed in the first tab.")
    second_tab = late_paragraph(state, first_tab, "Typed in the second tab.")

    async def scenario():
        tab, neighbour = await synced_clients(steps, daphne, live_doc.pk, tokens["editor"], tokens["owner"])
        await tab.send_sync(p.SYNC_UPDATE, second_tab)
        await tab.ping()
        newcomer = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        await newcomer.wait_for(lambda: newcomer.synced.is_set())
        await tab.send_sync(p.SYNC_UPDATE, first_tab)
        for each in (neighbour, newcomer):
            await each.wait_for(lambda c=each: "Typed in the second tab." in c.text)
        await tab.ping()
        for each in (tab, neighbour, newcomer):
            await each.close()
        return tab, neighbour, newcomer

    tab, neighbour, newcomer = steps(scenario())
    assert tab.events_of("error") == []
    assert newcomer.text == neighbour.text
    wait_servers_idle()
    expected = (
        "# Title\n\nFirst paragraph.\n\nSecond paragraph.\n\nTyped in the first tab.\n\nTyped in the second tab.\n"
    )
    assert stored_markdown(live_doc.pk) == expected
    services.collab_materialize(live_doc.pk)  # whether or not the closing room has done it yet
    assert Document.objects.get(pk=live_doc.pk).content == expected
