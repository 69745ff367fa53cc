"""POST documents/batch: the web client's offline batch, as its batch sync service sends it, onto push (SPEC §3.9)."""

import base64
import json
import uuid

import pycrdt
import pytest

from collab.markdown import content_fragment, fragment_to_markdown
from documents.models import Document, DocumentStar
from documents.services.documents import document_create, document_tags
from sync.client_api import stable_uuid
from sync.models import SyncLog, SyncPushReceipt
from workspaces.tests.helpers import ACTORS, assert_problem, last_seq

pytestmark = pytest.mark.django_db

URL = "/api/v1/documents/batch"


def _batch(client, workspace, operations, atomic=False):
    return client.post(URL, json.dumps({"workspace_id": str(workspace.pk), "operations": operations, "atomic": atomic}),
                       content_type="application/json")


def _create(local_id, **data):
    """A create as the client builds it from a document it has never synced."""
    return {"operation": "create", "clientId": f"create_{local_id}", "documentId": local_id,
            "data": {"id": local_id, "title": "Offline", "content": "# Plane notes\n\nWritten offline.\n",
                     "content_type": "markdown", "folder_id": None, "tags": ["travel"], "is_starred": False, **data}}


def _update(local_id, cloud_id, version, **data):
    return {"operation": "update", "clientId": f"update_{local_id}", "documentId": cloud_id,
            "data": {"title": "Offline", "folder_id": None, "tags": [], "is_starred": False, **data},
            "expectedVersion": version}


def _state_of(*paragraphs: str) -> str:
    """A Yjs state as the client's editor holds it: a heading and paragraphs in the `content` fragment."""
    doc = pycrdt.Doc()
    fragment = content_fragment(doc)
    fragment.children.append(pycrdt.XmlElement("heading", {"level": 1}, [pycrdt.XmlText("From the editor")]))
    for text in paragraphs:
        fragment.children.append(pycrdt.XmlElement("paragraph", {}, [pycrdt.XmlText(text)]))
    return base64.b64encode(doc.get_update()).decode()


def test_client_api_batch_creates_what_the_client_made_offline(team):
    user = team.user("editor")
    local_id = str(uuid.uuid4())
    response = _batch(team.client("editor"), team.workspace, [_create(local_id, is_starred=True)])
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["total"], body["successful"], body["failed"]) == (1, 1, 0)
    (result,) = body["results"]
    assert result == {"clientId": f"create_{local_id}", "status": "success", "documentId": local_id, "version": 1}
    document = Document.objects.get(pk=local_id)
    assert document.workspace_id == team.workspace.pk and document.created_by == user
    assert document.content == "# Plane notes\n\nWritten offline.\n" and document.type == "markdown"
    assert document_tags(document) == ["travel"]
    assert DocumentStar.objects.filter(user=user, document=document).exists()
    entry = SyncLog.objects.get(entity_id=document.pk)
    assert entry.origin == "push" and entry.client_change_id == stable_uuid(user, f"create_{local_id}", "change")


def test_client_api_batch_retried_changes_nothing_twice(team):
    operations = [_create("local-42"), _create("local-43")]
    first = _batch(team.client("editor"), team.workspace, operations).json()
    seq = last_seq(team.workspace)
    again = _batch(team.client("editor"), team.workspace, operations).json()
    assert again == first
    assert last_seq(team.workspace) == seq
    assert Document.objects.filter(workspace=team.workspace, title="Offline").count() == 2
    # A client id that is no UUID names the document by a UUIDv5 of the user and that id.
    user = team.user("editor")
    assert first["results"][0]["documentId"] == str(stable_uuid(user, "local-42", "document"))
    assert SyncPushReceipt.objects.filter(user=user).count() == 2


def test_client_api_batch_update_with_the_current_version_applies_a_stale_one_conflicts(team):
    owner = team.user("owner")
    document = document_create(actor=owner, workspace=team.workspace, data={"title": "T", "content": "base\n"})
    client = team.client("editor")
    stale = _batch(client, team.workspace, [_update("a", str(document.pk), 7, content="mine\n")]).json()
    (result,) = stale["results"]
    assert result["status"] == "conflict" and stale["failed"] == 1
    assert result["conflictData"]["content"] == "base\n" and result["conflictData"]["yjs_version"] == 0
    assert Document.objects.get(pk=document.pk).content == "base\n"
    fresh = _batch(client, team.workspace, [_update("b", str(document.pk), 0, content="mine\n", title="New")]).json()
    assert fresh["results"][0]["status"] == "success" and fresh["results"][0]["version"] == 2
    stored = Document.objects.get(pk=document.pk)
    assert (stored.content, stored.title) == ("mine\n", "New")


def test_client_api_batch_content_without_a_version_is_a_per_operation_error(team):
    document = document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "T", "content": "x"})
    operation = _update("a", str(document.pk), None, content="blind\n")
    body = _batch(team.client("editor"), team.workspace, [operation, _create("other")]).json()
    assert [result["status"] for result in body["results"]] == ["error", "success"]
    assert "base_content_hash" in body["results"][0]["error"]
    assert Document.objects.get(pk=document.pk).content == "x"


def test_client_api_batch_create_with_the_editor_state_holds_each_block_once(team):
    local_id = str(uuid.uuid4())
    state = _state_of("Typed offline.")
    operation = _create(local_id, content="# From the editor\n\nTyped offline.\n", yjs_state_b64=state)
    body = _batch(team.client("editor"), team.workspace, [operation]).json()
    assert body["results"][0]["status"] == "success", body
    document = Document.objects.get(pk=local_id)
    assert document.content == "# From the editor\n\nTyped offline.\n"
    detail = team.client("editor").get(f"/api/v1/documents/{local_id}").json()
    doc = pycrdt.Doc()
    doc.apply_update(base64.b64decode(detail["yjs_state_b64"]))
    assert fragment_to_markdown(content_fragment(doc)) == document.content
    assert len(content_fragment(doc).children) == 2  # the client's heading and paragraph, nothing else


def test_client_api_batch_update_with_the_editor_state_merges_it(team):
    local_id = str(uuid.uuid4())
    _batch(team.client("editor"), team.workspace, [_create(local_id, content="", yjs_state_b64=_state_of("One."))])
    # The client keeps editing the same Yjs document offline and sends its whole state again.
    later = _state_of("One.")  # another editor session: its own items, merged next to the first
    body = _batch(team.client("editor"), team.workspace,
                  [_update(local_id, local_id, None, content="ignored", yjs_state_b64=later, title="Merged")]).json()
    assert body["results"][0]["status"] == "success", body
    stored = Document.objects.get(pk=local_id)
    assert stored.title == "Merged"
    assert stored.content.count("From the editor") == 2 and "ignored" not in stored.content


def test_client_api_batch_delete_moves_to_the_trash(team):
    document = document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "T", "content": "x"})
    operation = {"operation": "delete", "clientId": "delete_x", "documentId": str(document.pk)}
    refused = _batch(team.client("editor"), team.workspace, [operation]).json()  # editors delete only their own
    assert refused["results"][0]["status"] == "error" and not Document.objects.get(pk=document.pk).deleted
    operation["clientId"] = "delete_y"
    body = _batch(team.client("owner"), team.workspace, [operation]).json()
    assert body["results"][0]["status"] == "success", body
    assert Document.objects.get(pk=document.pk).deleted


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_batch_by_role(team, actor):
    response = _batch(team.client(actor), team.workspace, [_create("by-role")])
    if actor in ("anonymous", "non_member"):
        status = {"anonymous": 401, "non_member": 404}[actor]
        assert_problem(response, status, {401: "authentication-required", 404: "not-found"}[status])
        assert not Document.objects.filter(title="Offline").exists()
        return
    (result,) = response.json()["results"]
    if actor in ("commenter", "viewer"):
        assert result["status"] == "error" and not Document.objects.filter(title="Offline").exists()
    else:
        assert result["status"] == "success"


@pytest.mark.parametrize(
    "body",
    [
        {"operations": []},
        {"workspace_id": "not-a-uuid", "operations": []},
        {"workspace_id": "{wid}", "operations": "all"},
        {"workspace_id": "{wid}", "operations": [{"operation": "rename", "clientId": "x"}]},
        {"workspace_id": "{wid}", "operations": [{"operation": "create"}]},
        {"workspace_id": "{wid}", "operations": [_create(f"n{i}") for i in range(101)]},
    ],
    ids=["no-workspace", "bad-workspace", "operations-not-a-list", "unknown-operation", "no-client-id", "over-100"],
)
def test_client_api_batch_bad_envelope_is_400_and_writes_nothing(team, body):
    payload = json.loads(json.dumps(body).replace("{wid}", str(team.workspace.pk)))
    seq = last_seq(team.workspace)
    response = team.client("editor").post(URL, json.dumps(payload), content_type="application/json")
    assert_problem(response, 400, "validation-error")
    assert last_seq(team.workspace) == seq


def test_client_api_batch_unreadable_operation_data_is_its_own_error(team):
    operations = [
        {**_create("a"), "data": "not an object"},
        _create("b", yjs_state_b64="%%% not base64"),
        _create("c", yjs_state_b64=base64.b64encode(b"\x07garbage").decode()),
        _create("d"),
    ]
    body = _batch(team.client("editor"), team.workspace, operations).json()
    assert [result["status"] for result in body["results"]] == ["error", "error", "error", "success"]
    assert Document.objects.filter(workspace=team.workspace, title="Offline").count() == 1


def test_client_api_batch_a_state_for_a_document_without_one_is_its_own_error(team):
    """Only markdown documents are edited live: a Yjs state sent for a mindmap refuses that operation alone."""
    mindmap = document_create(actor=team.user("owner"), workspace=team.workspace,
                              data={"title": "Map", "type": "mindmap", "content": '{"nodes": [], "edges": []}'})
    state = _state_of("Typed offline.")
    operations = [
        _create("map-1", content_type="mindmap", content='{"nodes": [], "edges": []}', yjs_state_b64=state),
        _update("map-2", str(mindmap.pk), None, yjs_state_b64=state, title="Renamed"),
        _create("plain"),
    ]
    body = _batch(team.client("owner"), team.workspace, operations).json()
    assert [result["status"] for result in body["results"]] == ["error", "error", "success"], body
    assert "markdown" in body["results"][0]["error"]
    assert not Document.objects.filter(pk=stable_uuid(team.user("owner"), "map-1", "document")).exists()
    assert Document.objects.get(pk=mindmap.pk).title == "Map"


def test_client_api_batch_a_state_with_foreign_root_content_refuses_that_operation_before_any_write(team):
    """A state binding the root `content` as another type than XML (SPEC §5.7) is refused for its operation
    alone, on create and on update, and nothing of that operation is written."""
    hostile = pycrdt.Doc()
    hostile["content"] = pycrdt.Text("not a fragment")
    state = base64.b64encode(hostile.get_update()).decode()
    local_id, existing = str(uuid.uuid4()), str(uuid.uuid4())
    _batch(team.client("editor"), team.workspace, [_create(existing, content="", yjs_state_b64=_state_of("Kept."))])
    before = Document.objects.get(pk=existing).content
    operations = [
        _create(local_id, content="", yjs_state_b64=state),
        _update(existing, existing, None, yjs_state_b64=state, title="Renamed"),
        _create("plain"),
    ]
    body = _batch(team.client("editor"), team.workspace, operations).json()
    assert [result["status"] for result in body["results"]] == ["error", "error", "success"], body
    assert "content" in body["results"][0]["error"]
    assert not Document.objects.filter(pk=local_id).exists()
    stored = Document.objects.get(pk=existing)
    assert stored.title == "Offline" and stored.content == before
