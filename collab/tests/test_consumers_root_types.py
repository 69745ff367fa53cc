"""The root `content` stays an XML fragment: updates putting another type there are refused before they are
stored or relayed, on both dialects and over REST; unknown element names are kept (SPEC §5.4, §5.7)."""

import pycrdt
import pytest

from collab import protocol as p
from collab.models import CollabUpdate
from collab.store import load_snapshot
from collab.tests.live import append_to_block, connect, markdown_of, stored_doc, stored_markdown, wait_servers_idle
from collab.tests.rest_state import b64, post_update
from collab.tests.yclient import YWebsocketClient
from documents.tests.helpers import assert_problem, client_for

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE_CLIENT_ID = 987654321


def _put_at_root(doc: pycrdt.Doc, kind: str) -> None:
    """What a foreign client writes when it binds `content` as another type than XmlFragment."""
    if kind == "text":
        doc.get("content", type=pycrdt.Text).insert(0, "plain text at the root")
    elif kind == "array":
        doc.get("content", type=pycrdt.Array).append("an array item")
    elif kind == "array_of_text":
        doc.get("content", type=pycrdt.Array).append(pycrdt.Text("a Y.Text item"))
    elif kind == "array_of_map":
        doc.get("content", type=pycrdt.Array).append(pycrdt.Map({"a": 1}))
    elif kind == "array_of_array":
        doc.get("content", type=pycrdt.Array).append(pycrdt.Array([1, 2]))
    elif kind == "map":
        doc.get("content", type=pycrdt.Map)["key"] = "value"
    elif kind == "with_a_good_edit":
        # A legitimate paragraph and a Y.Text item in one update: the whole update is refused.
        doc.get("content", type=pycrdt.XmlFragment).children.append(pycrdt.XmlElement("paragraph", {}, ["ok"]))
        doc.get("content", type=pycrdt.Array).append(pycrdt.Text("hidden"))
    else:
        raise AssertionError(kind)


def hostile_update(state: bytes, kind: str) -> bytes:
    """An update, on top of `state`, that puts a non-XML type at the root `content`."""
    doc = pycrdt.Doc(client_id=HOSTILE_CLIENT_ID)
    doc.apply_update(state)
    before = doc.get_state()
    _put_at_root(doc, kind)
    return doc.get_update(before)


def unknown_element_update(state: bytes) -> bytes:
    """An update adding a block of an element name the server does not know (another client build)."""
    doc = pycrdt.Doc(client_id=HOSTILE_CLIENT_ID)
    doc.apply_update(state)
    before = doc.get_state()
    doc.get("content", type=pycrdt.XmlFragment).children.append(
        pycrdt.XmlElement("callout", {"kind": "note"}, [pycrdt.XmlElement("paragraph", {}, ["inside a callout"])])
    )
    return doc.get_update(before)


KINDS = ["text", "array", "array_of_text", "array_of_map", "array_of_array", "map", "with_a_good_edit"]


def holds_hostile_items(doc: pycrdt.Doc) -> bool:
    return HOSTILE_CLIENT_ID in p.decode_state_vector(doc.get_state())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dialect", ["ywebsocket", "hocuspocus"])
def test_consumers_root_types_foreign_root_update_is_refused_and_the_room_stays_intact(
    daphne, steps, tokens, live_doc, dialect, kind
):
    async def scenario():
        writer = steps.keep(await connect(dialect, daphne.ws, live_doc.pk, tokens["editor"]))
        neighbour = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        for client in (writer, neighbour):
            await client.wait_for(lambda c=client: c.synced.is_set())
        if dialect == "hocuspocus":
            # The reply to the server's sync step 1 is acknowledged too, possibly after `synced`.
            await writer.wait_for(lambda: len(writer.statuses) == len(writer.sent))
        acknowledged = len(writer.statuses)
        before = neighbour.text
        await writer.send_update(hostile_update(writer.doc.get_update(), kind))
        await writer.wait_for(lambda: writer.events_of("error"))
        # The room keeps working: a good edit goes through, and a newcomer gets the untouched document.
        append_to_block(writer, 1, " good edit")
        await neighbour.wait_for(lambda: "good edit" in neighbour.text)
        newcomer = steps.keep(await connect(dialect, daphne.ws, live_doc.pk, tokens["viewer"]))
        await newcomer.wait_for(lambda: newcomer.synced.is_set() and newcomer.text == neighbour.text)
        await writer.ping()
        if dialect == "hocuspocus":
            await writer.wait_for(lambda: len(writer.statuses) >= len(writer.sent))
        return writer, neighbour, newcomer, before, writer.statuses[acknowledged:]

    writer, neighbour, newcomer, before, statuses = steps(scenario())
    assert [error["code"] for error in writer.events_of("error")] == ["invalid_update"]
    if dialect == "hocuspocus":
        assert statuses == [0, 1]
    assert writer.close_code is None and neighbour.close_code is None
    assert neighbour.events_of("error") == []
    assert not holds_hostile_items(neighbour.doc) and not holds_hostile_items(newcomer.doc)
    assert neighbour.text == before.replace("First paragraph.", "First paragraph. good edit")
    wait_servers_idle()
    assert not holds_hostile_items(stored_doc(live_doc.pk))
    assert CollabUpdate.objects.filter(document=live_doc).count() == 1
    assert "First paragraph. good edit" in stored_markdown(live_doc.pk)


@pytest.mark.parametrize("dialect", ["ywebsocket", "hocuspocus"])
def test_consumers_root_types_unknown_element_names_are_kept(daphne, steps, tokens, live_doc, dialect):
    async def scenario():
        writer = steps.keep(await connect(dialect, daphne.ws, live_doc.pk, tokens["editor"]))
        neighbour = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        for client in (writer, neighbour):
            await client.wait_for(lambda c=client: c.synced.is_set())
        await writer.send_sync(p.SYNC_UPDATE, unknown_element_update(writer.doc.get_update()))
        await neighbour.wait_for(lambda: "<callout" in neighbour.text)
        await writer.ping()
        return writer, neighbour

    writer, neighbour = steps(scenario())
    assert writer.events_of("error") == []
    assert '<callout kind="note"><paragraph>inside a callout</paragraph></callout>' in neighbour.text
    assert "inside a callout" in markdown_of(neighbour)
    wait_servers_idle()
    assert "<callout" in str(stored_doc(live_doc.pk).get("content", type=pycrdt.XmlFragment))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    ("path", "field"), [("yjs-state", "update_b64"), ("snapshot", "yjs_state")], ids=["yjs_state", "client_snapshot"]
)
def test_consumers_root_types_foreign_root_update_over_rest_is_400(team, live_doc, kind, path, field):
    state = load_snapshot(live_doc.pk).as_doc().get_update()
    response = client_for(team.user("editor")).post(
        f"/api/v1/documents/{live_doc.pk}/{path}", {field: b64(hostile_update(state, kind))}, format="json"
    )
    body = assert_problem(response, 400, "invalid-yjs-update")
    assert field in body["errors"]
    assert not CollabUpdate.objects.filter(document=live_doc).exists()
    assert not holds_hostile_items(stored_doc(live_doc.pk))


def test_consumers_root_types_unknown_element_over_rest_is_kept(team, live_doc):
    state = load_snapshot(live_doc.pk).as_doc().get_update()
    response = post_update(client_for(team.user("editor")), live_doc.pk, unknown_element_update(state))
    assert response.status_code == 200, response.content
    assert "<callout" in str(stored_doc(live_doc.pk).get("content", type=pycrdt.XmlFragment))
