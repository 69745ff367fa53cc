"""The existing client's live snapshot, documents/{id}/snapshot (SPEC §3.9): its whole Yjs state merged like
POST yjs-state, and read back with the content's HTML. Requests as snapshotClient.ts sends them."""

import base64

import pytest

from collab.models import CollabState, CollabUpdate
from collab.tests.live import normalized
from collab.tests.rest_state import READERS, TEXT, appended, b64, content_markdown, served_doc
from documents.models import Document
from documents.services.documents import document_create
from documents.tests.helpers import (
    ACTORS,
    EDITORS,
    MISSING_ID,
    assert_problem,
    assert_refused,
    assert_validation,
    client_for,
    is_timestamp,
    outcome,
)
from workspaces.tests.helpers import allow_guests

pytestmark = pytest.mark.django_db


def _url(document_id) -> str:
    return f"/api/v1/documents/{document_id}/snapshot"


def _push(client, document_id, state: bytes):
    body = {"yjs_state": b64(state), "html": "<p>client html</p>", "updated_at": "2025-01-02T03:04:05.000Z"}
    return client.post(_url(document_id), body, format="json")


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_snapshot_get_by_actor(team, document, actor):
    response = client_for(team.user(actor)).get(_url(document.pk))
    expected = outcome(actor, READERS)
    if expected != 200:
        assert_refused(response, expected)
        assert not CollabState.objects.exists()
        return
    body = response.json()
    assert set(body) == {"yjs_state", "html", "updated_at", "yjs_version"}
    assert content_markdown(served_doc(body["yjs_state"])) == normalized(TEXT)
    assert body["html"] == "<h1>Shared</h1>\n<p>One paragraph.</p>\n"
    assert is_timestamp(body["updated_at"]) and body["yjs_version"] == 0


def test_client_api_snapshot_get_through_a_share_link(team, document):
    allow_guests(team.workspace)
    link = (
        client_for(team.user("owner"))
        .post(f"/api/v1/documents/{document.pk}/share-links", {"mode": "view"}, format="json")
        .json()
    )
    anonymous = client_for(None)
    assert anonymous.get(_url(document.pk), HTTP_X_SHARE_TOKEN=link["token"]).status_code == 200
    assert_refused(anonymous.get(_url(document.pk)), 401)


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_snapshot_post_by_actor(team, document, actor):
    served = client_for(team.user("owner")).get(_url(document.pk)).json()
    state = appended(served["yjs_state"], f" By {actor}.", whole=True)
    response = _push(client_for(team.user(actor)), document.pk, state)
    expected = outcome(actor, EDITORS)
    if expected != 200:
        assert_refused(response, expected)
        assert not CollabUpdate.objects.exists()
        assert Document.objects.get(pk=document.pk).content == TEXT
        return
    body = response.json()
    fresh = Document.objects.get(pk=document.pk)
    assert fresh.content == f"# Shared\n\nOne paragraph. By {actor}.\n"  # materialized before the answer
    assert body["success"] is True and body["content_hash"] == fresh.content_hash and body["yjs_version"] == 1
    assert is_timestamp(body["updated_at"]) and fresh.updated_by == team.user(actor)
    assert CollabUpdate.objects.get(document=document).user == team.user(actor)
    again = client_for(team.user("viewer")).get(_url(document.pk)).json()
    assert content_markdown(served_doc(again["yjs_state"])) == fresh.content and again["yjs_version"] == 1
    assert again["html"] == f"<h1>Shared</h1>\n<p>One paragraph. By {actor}.</p>\n"


def test_client_api_snapshot_repeated_state_stores_nothing(team, document):
    client = client_for(team.user("editor"))
    served = client.get(_url(document.pk)).json()
    state = appended(served["yjs_state"], " Once.", whole=True)
    assert _push(client, document.pk, state).status_code == 200
    # Every ~3 s the client posts its whole state again: nothing new, nothing stored or broadcast.
    again = _push(client, document.pk, state)
    assert again.status_code == 200 and again.json()["yjs_version"] == 1
    assert CollabUpdate.objects.filter(document=document).count() == 1
    assert _push(client, document.pk, base64.b64decode(served["yjs_state"])).json()["yjs_version"] == 1


@pytest.mark.parametrize("body", [{}, {"yjs_state": ""}, {"yjs_state": "%%%"}, {"yjs_state": 5}])
def test_client_api_snapshot_post_malformed_body_is_400(team, document, body):
    assert_validation(client_for(team.user("editor")).post(_url(document.pk), body, format="json"), "yjs_state")
    assert not CollabUpdate.objects.exists()


def test_client_api_snapshot_post_undecodable_state_is_400(team, document):
    response = _push(client_for(team.user("editor")), document.pk, b"not an update")
    assert set(assert_problem(response, 400, "invalid-yjs-update")["errors"]) == {"yjs_state"}
    assert not CollabUpdate.objects.exists() and Document.objects.get(pk=document.pk).content == TEXT


def test_client_api_snapshot_unknown_and_non_markdown_documents(team):
    client = client_for(team.user("owner"))
    assert_refused(client.get(_url(MISSING_ID)), 404)
    assert_refused(_push(client, MISSING_ID, b"\x00\x00"), 404)  # the client drops a snapshot on 404
    mindmap = document_create(
        actor=team.user("owner"),
        workspace=team.workspace,
        data={"title": "M", "type": "mindmap", "content": '{"nodes": [], "edges": []}'},
    )
    assert_problem(client.get(_url(mindmap.pk)), 409, "not-collaborative")
    assert_problem(_push(client, mindmap.pk, b"\x00\x00"), 409, "not-collaborative")
