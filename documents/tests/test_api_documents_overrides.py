"""Permission overrides that revoke a role's default flag (SPEC §2.2) hold on every write that needs the flag.

The owner revokes `can_edit_documents` or `can_create_documents` from an editor or an admin through the members
API. Every path that needs the flag (REST PATCH and PUT, the Yjs state push, versions and restores, the sync
push, the existing client's paths) then answers 403 and writes nothing, while what the flag does not cover
(reading, starring, commenting, the other flag) keeps working; lifting the override gives the role's default
back. (Sockets: collab/tests/test_consumers_overrides.py.)
"""

import base64
import uuid

import pycrdt
import pytest

from documents.tests.factories import DocumentFactory, FolderFactory
from documents.tests.helpers import assert_refused, doc_url, docs_url, etag, folder_url, folders_url, state

pytestmark = pytest.mark.django_db

REVOKED_FROM = ["editor", "admin"]


def _override(team, actor: str, flag: str, value) -> None:
    """The owner sets (or with None lifts) one override of `actor` through the members API."""
    response = team.client("owner").patch(
        f"/api/v1/workspaces/{team.workspace.pk}/members/{team.user(actor).pk}",
        {"permissions": {flag: value}}, format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["permissions"][flag] is (value if value is not None else True)


def _yjs_edit(client, document, suffix: str) -> dict:
    """A valid `POST yjs-state` body: the served state with `suffix` appended to its last block."""
    served = client.get(doc_url(document, "/yjs-state"))
    assert served.status_code == 200, served.content
    doc = pycrdt.Doc()
    doc.apply_update(base64.b64decode(served.json()["state_b64"]))
    before = doc.get_state()
    blocks = doc.get("content", type=pycrdt.XmlFragment).children
    run = blocks[len(blocks) - 1].children[0]
    run.insert(len(run), suffix)
    return {"update_b64": base64.b64encode(doc.get_update(before)).decode()}


def _push(client, workspace, change: dict):
    change = {"change_id": str(uuid.uuid4()), "entity_type": "document", **change}
    response = client.post(f"/api/v1/sync/workspaces/{workspace.pk}/push", {"changes": [change]}, format="json")
    assert response.status_code == 200, response.content
    (result,) = response.json()["results"]
    return result


@pytest.fixture
def docs(team):
    markdown = DocumentFactory(workspace=team.workspace, title="Plan", content="# Plan\n\nFirst line.\n")
    mindmap = DocumentFactory(workspace=team.workspace, mindmap=True)
    return markdown, mindmap


@pytest.mark.parametrize("actor", REVOKED_FROM)
def test_api_documents_overrides_revoked_edit_refuses_every_edit_path(team, docs, actor):
    markdown, mindmap = docs
    folder = FolderFactory(workspace=team.workspace)
    client = team.client(actor)
    yjs_body = _yjs_edit(client, markdown, " live")  # prepared while allowed; reading stays allowed anyway
    _override(team, actor, "can_edit_documents", False)
    before = state(team.workspace)
    refused = {
        "PATCH title": client.patch(doc_url(markdown), {"title": "Renamed"}, format="json"),
        "PATCH content": client.patch(
            doc_url(markdown), {"content": "new"}, format="json", HTTP_IF_MATCH=etag(markdown)
        ),
        "PATCH tags": client.patch(doc_url(mindmap), {"tags": ["x"]}, format="json"),
        "PUT": client.put(
            doc_url(markdown), {"title": "T", "content": "new"}, format="json", HTTP_IF_MATCH=etag(markdown)
        ),
        "PUT mindmap": client.put(
            doc_url(mindmap), {"title": "T", "content": '{"nodes": [], "edges": []}'}, format="json",
            HTTP_IF_MATCH=etag(mindmap),
        ),
        "POST yjs-state": client.post(doc_url(markdown, "/yjs-state"), yjs_body, format="json"),
        "POST versions": client.post(doc_url(markdown, "/versions"), {}, format="json"),
        "POST restore-version": client.post(doc_url(markdown, "/restore-version"), {"version_number": 1}, format="json"),
        "PATCH folder": client.patch(folder_url(folder), {"name": "Moved"}, format="json"),
        # The existing client's dialects (SPEC §3.9).
        "PATCH expected_yjs_version": client.patch(
            doc_url(markdown), {"content": "new", "expected_yjs_version": 0}, format="json"
        ),
        "POST snapshot": client.post(doc_url(markdown, "/snapshot"), {"yjs_state": yjs_body["update_b64"]},
                                     format="json"),
    }
    for name, response in refused.items():
        assert response.status_code == 403, (name, response.status_code, response.content)
        assert_refused(response, 403)
    pushed = _push(client, team.workspace, {"operation": "update", "entity_id": str(markdown.pk),
                                            "base_content_hash": markdown.content_hash, "data": {"content": "x"}})
    assert pushed["status"] == "error" and pushed["error"]["status"] == 403, pushed
    assert state(team.workspace) == before
    # What the flag does not cover still works: reading, starring, commenting, creating.
    assert client.get(doc_url(markdown)).json()["access"]["can_edit"] is False
    assert client.patch(doc_url(markdown), {"is_starred": True}, format="json").status_code == 200
    assert client.post(doc_url(markdown, "/comments"), {"content": "Still here"}, format="json").status_code == 201
    assert client.post(docs_url(team.workspace), {"title": "Mine"}, format="json").status_code == 201
    # Lifting the override gives the role's default back.
    _override(team, actor, "can_edit_documents", None)
    assert client.patch(doc_url(markdown), {"title": "Renamed"}, format="json").status_code == 200
    assert client.post(doc_url(markdown, "/yjs-state"), _yjs_edit(client, markdown, " live"),
                       format="json").status_code == 200


@pytest.mark.parametrize("actor", REVOKED_FROM)
def test_api_documents_overrides_revoked_create_refuses_every_create_path(team, docs, actor):
    markdown, _ = docs
    client = team.client(actor)
    _override(team, actor, "can_create_documents", False)
    before = state(team.workspace)
    new_id = str(uuid.uuid4())
    refused = {
        "POST documents": client.post(docs_url(team.workspace), {"id": new_id, "title": "New"}, format="json"),
        "POST folders": client.post(folders_url(team.workspace), {"name": "New"}, format="json"),
        "POST client documents": client.post(
            f"/api/v1/documents?workspace_id={team.workspace.pk}", {"title": "New", "content_type": "markdown"},
            format="json",
        ),
        "POST client folders": client.post(
            f"/api/v1/folders?workspace_id={team.workspace.pk}", {"name": "New"}, format="json"
        ),
    }
    for name, response in refused.items():
        assert response.status_code == 403, (name, response.status_code, response.content)
        assert_refused(response, 403)
    pushed = _push(client, team.workspace, {"operation": "create", "entity_id": new_id, "data": {"title": "New"}})
    assert pushed["status"] == "error" and pushed["error"]["status"] == 403, pushed
    assert state(team.workspace) == before
    # Editing existing documents is another flag.
    assert client.patch(doc_url(markdown), {"title": "Renamed"}, format="json").status_code == 200
    _override(team, actor, "can_create_documents", None)
    assert client.post(docs_url(team.workspace), {"id": new_id, "title": "New"}, format="json").status_code == 201


def test_api_documents_overrides_only_apply_to_that_member(team, docs):
    markdown, _ = docs
    _override(team, "editor", "can_edit_documents", False)
    assert team.client("admin").patch(doc_url(markdown), {"title": "By admin"}, format="json").status_code == 200
    assert team.client("editor").patch(doc_url(markdown), {"title": "By editor"}, format="json").status_code == 403
