"""GET/POST documents/{id}/yjs-state: the merged live state over REST (SPEC §3.3)."""

import base64

import pycrdt
import pytest

from collab.markdown import markdown_to_update
from collab.models import CollabState, CollabUpdate
from collab.tests.live import markdown_of, normalized, stored_markdown
from collab.tests.rest_state import READERS, TEXT, appended, b64, content_markdown, served_doc
from collab.tests.yclient import HocuspocusClient, YWebsocketClient
from documents.models import Document, DocumentVersion
from documents.services.documents import document_create, document_delete
from documents.tests.helpers import (
    ACTORS,
    EDITORS,
    MISSING_ID,
    assert_problem,
    assert_refused,
    assert_validation,
    client_for,
    outcome,
)
from sync.models import SyncLog

pytestmark = pytest.mark.django_db


def _url(document_id) -> str:
    return f"/api/v1/documents/{document_id}/yjs-state"


@pytest.mark.parametrize("actor", ACTORS)
def test_api_collab_yjs_state_get_by_actor(team, document, actor):
    response = client_for(team.user(actor)).get(_url(document.pk))
    status = outcome(actor, READERS)
    if status != 200:
        assert_refused(response, status)
        assert not CollabState.objects.exists()  # refused callers do not even hydrate
        return
    body = response.json()
    assert set(body) == {"state_b64", "state_vector_b64", "last_seq"}
    served = served_doc(body["state_b64"])
    assert content_markdown(served) == normalized(TEXT)
    assert base64.b64decode(body["state_vector_b64"]) == served.get_state()
    assert body["last_seq"] == 0
    assert CollabState.objects.filter(document=document).exists()  # hydrated on first use


def test_api_collab_yjs_state_get_diff_against_a_state_vector(team, document):
    client = client_for(team.user("viewer"))
    full = client.get(_url(document.pk)).json()
    known = served_doc(full["state_b64"])
    update = appended(full["state_b64"], " More.")
    assert (
        client_for(team.user("editor")).post(_url(document.pk), {"update_b64": b64(update)}, format="json").status_code
        == 200
    )
    diff = client.get(_url(document.pk), {"state_vector": full["state_vector_b64"]}).json()
    assert diff["last_seq"] == 1
    assert len(base64.b64decode(diff["state_b64"])) < len(
        base64.b64decode(client.get(_url(document.pk)).json()["state_b64"])
    )
    caught_up = served_doc(diff["state_b64"], known)
    assert content_markdown(caught_up) == "# Shared\n\nOne paragraph. More.\n"
    assert caught_up.get_state() == base64.b64decode(diff["state_vector_b64"])
    # Nothing new for an up-to-date client: an empty update.
    same = client.get(_url(document.pk), {"state_vector": diff["state_vector_b64"]}).json()
    check = served_doc(same["state_b64"], served_doc(full["state_b64"]))
    assert content_markdown(check) == normalized(TEXT) and len(base64.b64decode(same["state_b64"])) <= 4


@pytest.mark.parametrize("value", ["%%%not-base64", "YQ", "BQ==", "AQU="])
def test_api_collab_yjs_state_get_bad_state_vector_is_400(team, document, value):
    response = client_for(team.user("owner")).get(_url(document.pk), {"state_vector": value})
    assert_validation(response, "state_vector")


@pytest.mark.parametrize("kind", ["mindmap", "presentation"])
def test_api_collab_yjs_state_not_collaborative_is_409(team, kind):
    content = '{"nodes": [], "edges": []}' if kind == "mindmap" else '{"slides": []}'
    document = document_create(
        actor=team.user("owner"), workspace=team.workspace, data={"title": "M", "type": kind, "content": content}
    )
    client = client_for(team.user("owner"))
    assert_problem(client.get(_url(document.pk)), 409, "not-collaborative")
    update = pycrdt.Doc()
    update.get("content", type=pycrdt.Text).insert(0, "x")
    response = client.post(_url(document.pk), {"update_b64": b64(update.get_update())}, format="json")
    assert_problem(response, 409, "not-collaborative")
    assert not CollabState.objects.exists() and Document.objects.get(pk=document.pk).content == content


@pytest.mark.parametrize("case", ["missing", "malformed", "deleted"])
def test_api_collab_yjs_state_invisible_document_is_404(team, document, case):
    if case == "deleted":
        document_delete(actor=team.user("owner"), document=document)
    target = {"missing": MISSING_ID, "malformed": "not-a-uuid", "deleted": document.pk}[case]
    client = client_for(team.user("owner"))
    assert_refused(client.get(_url(target)), 404)
    assert_refused(client.post(_url(target), {"update_b64": b64(b"\x00\x00")}, format="json"), 404)


@pytest.mark.parametrize("actor", ACTORS)
def test_api_collab_yjs_state_post_by_actor(team, document, actor):
    served = client_for(team.user("owner")).get(_url(document.pk)).json()
    update = appended(served["state_b64"], f" By {actor}.")
    versions = DocumentVersion.objects.filter(document=document).count()
    response = client_for(team.user(actor)).post(_url(document.pk), {"update_b64": b64(update)}, format="json")
    status = outcome(actor, EDITORS)
    if status != 200:
        assert_refused(response, status)
        assert not CollabUpdate.objects.exists()
        assert Document.objects.get(pk=document.pk).content == TEXT
        return
    body = response.json()
    assert set(body) == {"content_hash", "state_vector_b64", "last_seq"}
    fresh = Document.objects.get(pk=document.pk)
    # The content is materialized before the answer: its hash is the one returned.
    assert fresh.content == f"# Shared\n\nOne paragraph. By {actor}.\n"
    assert body["content_hash"] == fresh.content_hash and body["last_seq"] == 1
    assert fresh.updated_by == team.user(actor)
    row = CollabUpdate.objects.get(document=document)
    assert (row.seq, bytes(row.update), row.user) == (1, update, team.user(actor))
    record = CollabState.objects.get(document=document)
    assert record.materialized_seq == record.last_seq == 1
    assert (
        base64.b64decode(body["state_vector_b64"])
        == served_doc(served["state_b64"], served_doc(b64(update))).get_state()
    )
    latest = DocumentVersion.objects.filter(document=document).order_by("-version_number").first()
    assert (latest.content, latest.created_by, latest.source) == (fresh.content, team.user(actor), "auto")
    # The owner wrote version 1 a moment ago: its auto version is coalesced (SPEC §3.3 throttle).
    assert DocumentVersion.objects.filter(document=document).count() == versions + (actor != "owner")
    assert SyncLog.objects.filter(entity_id=document.pk, changed_by=team.user(actor), operation="update").exists()


@pytest.mark.parametrize("value", [b64(b"not an update"), b64(b"\x00"), b64(b"\x01")])
def test_api_collab_yjs_state_post_invalid_update_is_400(team, document, value):
    response = client_for(team.user("editor")).post(_url(document.pk), {"update_b64": value}, format="json")
    body = assert_problem(response, 400, "invalid-yjs-update")
    assert "update_b64" in body["errors"]
    assert not CollabUpdate.objects.exists()


@pytest.mark.parametrize("body", [{}, {"update_b64": ""}, {"update_b64": "%%%"}, {"update_b64": 5}])
def test_api_collab_yjs_state_post_malformed_body_is_400(team, document, body):
    response = client_for(team.user("editor")).post(_url(document.pk), body, format="json")
    assert_validation(response, "update_b64")
    assert not CollabUpdate.objects.exists()


def test_api_collab_yjs_state_post_of_a_foreign_history_is_merged_not_replacing(team, document):
    """An update from a client that seeded its own fragment merges as a CRDT: nothing is lost."""
    stranger = pycrdt.Doc()
    stranger.apply_update(markdown_to_update("Seeded elsewhere.\n"))
    response = client_for(team.user("owner")).post(
        _url(document.pk), {"update_b64": b64(stranger.get_update())}, format="json"
    )
    assert response.status_code == 200
    content = Document.objects.get(pk=document.pk).content
    assert "One paragraph." in content and "Seeded elsewhere." in content
    assert stored_markdown(document.pk) == content


@pytest.mark.django_db(transaction=True)
def test_api_collab_yjs_state_post_reaches_connected_clients(daphne, steps, team, tokens, live_doc):
    async def connect():
        yws = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        hp = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["commenter"]))
        for client in (yws, hp):
            await client.wait_for(lambda c=client: c.synced.is_set())
        return yws, hp

    yws, hp = steps(connect())
    served = client_for(team.user("editor")).get(_url(live_doc.pk)).json()
    update = appended(served["state_b64"], " Posted.")
    response = client_for(team.user("editor")).post(_url(live_doc.pk), {"update_b64": b64(update)}, format="json")
    assert response.status_code == 200

    async def receive():
        for client in (yws, hp):
            await client.wait_for(lambda c=client: "Posted." in c.text)

    steps(receive())
    assert markdown_of(yws) == markdown_of(hp) == Document.objects.get(pk=live_doc.pk).content
    assert markdown_of(yws) == "# Title\n\nFirst paragraph.\n\nSecond paragraph. Posted.\n"


def test_api_collab_yjs_state_post_of_nothing_new_is_not_stored(team, document):
    """An empty update, or one the document already holds, is no edit: 200, nothing stored (SPEC §5.4)."""
    client = client_for(team.user("editor"))
    served = client.get(_url(document.pk)).json()
    update = appended(served["state_b64"], " Once.")
    first = client.post(_url(document.pk), {"update_b64": b64(update)}, format="json").json()
    for nothing_new in (b"\x00\x00", update, base64.b64decode(client.get(_url(document.pk)).json()["state_b64"])):
        response = client.post(_url(document.pk), {"update_b64": b64(nothing_new)}, format="json")
        assert response.status_code == 200
        assert response.json() == first
    assert list(CollabUpdate.objects.values_list("seq", flat=True)) == [1]
    assert CollabState.objects.get(document=document).last_seq == 1
    assert Document.objects.get(pk=document.pk).content == "# Shared\n\nOne paragraph. Once.\n"
