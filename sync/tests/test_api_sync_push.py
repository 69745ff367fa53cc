"""POST sync/workspaces/{wid}/push: independent changes, conflicts, idempotency (SPEC §3.7, §4 "Push")."""

import threading
import uuid

import pytest
from django.db import connection

from documents.models import Comment, Document, DocumentVersion, Folder
from documents.services.documents import document_create, document_delete
from sync.models import SyncLog, SyncPushReceipt
from workspaces.tests.helpers import ACTORS, assert_problem, assert_validation, client_for, last_seq

pytestmark = pytest.mark.django_db


def _url(workspace) -> str:
    return f"/api/v1/sync/workspaces/{workspace.pk}/push"


def _change(entity_type="document", operation="create", entity_id=None, **extra) -> dict:
    return {"change_id": str(uuid.uuid4()), "entity_type": entity_type, "operation": operation,
            "entity_id": str(entity_id or uuid.uuid4()), **extra}


def _push(client, workspace, *changes, **envelope):
    return client.post(_url(workspace), {"device_id": "laptop", "client_version": "2.1.0", **envelope,
                                         "changes": list(changes)}, format="json")


@pytest.mark.parametrize("actor", ACTORS)
def test_api_sync_push_document_create_by_role(team, actor):
    change = _change(data={"title": "Offline", "content": "# Written on a plane\n"})
    response = _push(team.client(actor), team.workspace, change)
    if actor in ("anonymous", "non_member"):
        assert response.status_code == {"anonymous": 401, "non_member": 404}[actor]
        assert not Document.objects.filter(pk=change["entity_id"]).exists()
        return
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["change_id"] == change["change_id"] and result["entity_id"] == change["entity_id"]
    if actor in ("commenter", "viewer"):
        assert result["status"] == "error" and result["error"]["status"] == 403
        assert not Document.objects.filter(pk=change["entity_id"]).exists()
        return
    assert result["status"] == "success"
    document = Document.objects.get(pk=change["entity_id"])
    assert result["result"]["content_hash"] == document.content_hash
    entry = SyncLog.objects.get(entity_id=document.pk)
    assert (entry.origin, entry.device_id, entry.client_version, str(entry.client_change_id)) == (
        "push", "laptop", "2.1.0", change["change_id"]
    )
    assert DocumentVersion.objects.filter(document=document).count() == 1


def test_api_sync_push_update_conflicts_and_field_wise_changes(team):
    owner = team.user("owner")
    document = document_create(actor=owner, workspace=team.workspace, data={"title": "T", "content": "base"})
    base = document.content_hash
    client = team.client("editor")
    server_side = _push(client, team.workspace, _change(operation="update", entity_id=document.pk,
                                                         base_content_hash=base, data={"content": "server"}))
    assert server_side.json()["results"][0]["status"] == "success"
    stale = _change(operation="update", entity_id=document.pk, base_content_hash=base, data={"content": "offline"})
    missing = _change(operation="update", entity_id=document.pk, data={"content": "no base"})
    title = _change(operation="update", entity_id=document.pk, data={"title": "Renamed", "tags": ["x"]})
    results = _push(client, team.workspace, stale, missing, title).json()["results"]
    assert [r["status"] for r in results] == ["conflict", "error", "success"]
    version = results[0]["server_version"]
    assert version["content"] == "server" and version["title"] == "T" and version["updated_by"]["id"]
    assert results[1]["error"]["status"] == 428
    stored = Document.objects.get(pk=document.pk)
    assert (stored.content, stored.title) == ("server", "Renamed")


def test_api_sync_push_is_idempotent_per_change_id(team):
    client = team.client("editor")
    change = _change(data={"title": "Once", "content": "one"})
    first = _push(client, team.workspace, change).json()["results"]
    seq = last_seq(team.workspace)
    again = _push(client, team.workspace, {**change, "data": {"title": "Changed meanwhile"}}).json()["results"]
    assert again == first
    assert last_seq(team.workspace) == seq
    assert Document.objects.get(pk=change["entity_id"]).title == "Once"
    failing = _change(operation="update", data={"title": "nothing to update"})
    assert _push(client, team.workspace, failing).json() == _push(client, team.workspace, failing).json()
    assert SyncPushReceipt.objects.count() == 2


def test_api_sync_push_create_again_and_delete_twice_follow_the_spec(team):
    editor, admin = team.client("editor"), team.client("admin")
    change = _change(data={"title": "Mine", "content": "same"})
    _push(editor, team.workspace, change)
    same = {**change, "change_id": str(uuid.uuid4())}
    assert _push(editor, team.workspace, same).json()["results"][0]["status"] == "success"  # a no-op
    other_user = {**change, "change_id": str(uuid.uuid4())}
    assert _push(admin, team.workspace, other_user).json()["results"][0]["status"] == "conflict"
    other_text = {**change, "change_id": str(uuid.uuid4()), "data": {"title": "Mine", "content": "different"}}
    assert _push(editor, team.workspace, other_text).json()["results"][0]["status"] == "conflict"
    delete = _change(operation="delete", entity_id=change["entity_id"])
    assert _push(admin, team.workspace, delete).json()["results"][0]["status"] == "success"
    again = {**delete, "change_id": str(uuid.uuid4())}
    assert _push(admin, team.workspace, again).json()["results"][0]["status"] == "success"
    assert Document.objects.get(pk=change["entity_id"]).deleted is True
    editor_delete = _change(operation="delete", entity_id=change["entity_id"])
    assert _push(editor, team.workspace, editor_delete).json()["results"][0]["error"]["status"] == 403


def test_api_sync_push_folders_and_comments(team):
    owner = team.user("owner")
    document = document_create(actor=owner, workspace=team.workspace, data={"title": "D", "content": "x"})
    folder = _change("folder", data={"name": "Offline folder"})
    comment = _change("comment", data={"document_id": str(document.pk), "content": "Offline **remark**"})
    results = _push(team.client("editor"), team.workspace, folder, comment).json()["results"]
    assert [r["status"] for r in results] == ["success", "success"]
    assert Folder.objects.get(pk=folder["entity_id"]).name == "Offline folder"
    stored = Comment.objects.get(pk=comment["entity_id"])
    assert stored.author == team.user("editor") and stored.content_html == "<p>Offline <strong>remark</strong></p>\n"
    edit = _change("comment", "update", entity_id=stored.pk, data={"content": "Edited offline"})
    others = _push(team.client("owner"), team.workspace, edit).json()["results"][0]
    assert others["status"] == "error" and others["error"]["status"] == 403  # only the author edits
    viewer_comment = _change("comment", data={"document_id": str(document.pk), "content": "x"})
    assert _push(team.client("viewer"), team.workspace, viewer_comment).json()["results"][0]["error"]["status"] == 403


def test_api_sync_push_faults_of_one_change_do_not_stop_the_others(team):
    good = _change(data={"title": "Good", "content": "ok"})
    bad_id = {**_change(), "entity_id": "not-a-uuid"}
    bad_data = _change(data=["not", "an", "object"])
    too_long = _change(data={"title": "x" * 501})
    unknown = _change(operation="update", data={"title": "x"})
    results = _push(team.client("owner"), team.workspace, bad_id, good, bad_data, too_long, unknown).json()["results"]
    assert [r["status"] for r in results] == ["error", "success", "error", "error", "error"]
    assert [r["error"]["status"] for r in results if r["status"] == "error"] == [400, 400, 400, 404]
    assert "data.title" in results[3]["error"]["errors"]
    assert Document.objects.filter(pk=good["entity_id"]).exists()


def test_api_sync_push_nested_data_errors_name_their_path(team):
    owner = team.user("owner")
    document = document_create(actor=owner, workspace=team.workspace, data={"title": "D", "content": "x"})
    comment = _change("comment", data={"document_id": str(document.pk), "content": "Hi", "mentions": ["not-a-uuid"]})
    (result,) = _push(team.client("owner"), team.workspace, comment).json()["results"]
    error = result["error"]
    assert (result["status"], error["status"], error["type"]) == ("error", 400, "https://mdcreator.app/errors/validation-error")
    assert list(error["errors"]) == ["data.mentions.0"] and all(isinstance(m, str) for m in error["errors"]["data.mentions.0"])


@pytest.mark.parametrize(
    "body,field",
    [
        ({"changes": "no"}, "changes.non_field_errors"),
        ({"changes": [_change() for _ in range(101)]}, "changes.non_field_errors"),
        ({"changes": [{**_change(), "change_id": "x"}]}, "changes.0.change_id"),
        ({"changes": [{**_change(), "entity_type": "attachment"}]}, "changes.0.entity_type"),
        ({"changes": [{**_change(), "operation": "undelete"}]}, "changes.0.operation"),
        ({}, "changes"),
    ],
)
def test_api_sync_push_bad_envelopes_are_400(team, body, field):
    response = team.client("owner").post(_url(team.workspace), body, format="json")
    assert list(assert_validation(response, field)["errors"]) == [field]
    assert not SyncPushReceipt.objects.exists()


def test_api_sync_push_body_must_be_an_object(team):
    response = team.client("owner").post(_url(team.workspace), [1, 2], format="json")
    assert_problem(response, 400, "validation-error")


@pytest.mark.django_db(transaction=True)
def test_api_sync_push_the_same_change_from_two_connections_applies_once(team):
    change = _change(data={"title": "Twice", "content": "once"})
    clients = [client_for(team.user("editor")) for _ in range(2)]
    start, results = threading.Barrier(2), []

    def push(client):
        try:
            start.wait()
            results.append(_push(client, team.workspace, change).json()["results"][0])
        finally:
            connection.close()

    threads = [threading.Thread(target=push, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 2 and results[0] == results[1] and results[0]["status"] == "success"
    assert SyncLog.objects.filter(entity_id=change["entity_id"]).count() == 1
    assert SyncPushReceipt.objects.filter(change_id=change["change_id"]).count() == 1
    document_delete(actor=team.user("owner"), document=Document.objects.get(pk=change["entity_id"]))
    assert_problem(team.client("non_member").post(_url(team.workspace), {"changes": []}, format="json"), 404,
                   "not-found")


def test_api_sync_push_grantees_have_no_sync(team):
    from accounts.tests.factories import UserFactory
    from documents.services.shares import share_create

    owner = team.user("owner")
    document = document_create(actor=owner, workspace=team.workspace, data={"title": "Shared", "content": "x"})
    guest = UserFactory()
    share_create(actor=owner, document=document, role="editor", user_id=guest.pk)
    change = _change(operation="update", entity_id=document.pk, data={"title": "From a grantee"})
    assert_problem(_push(client_for(guest), team.workspace, change), 404, "not-found")
    assert Document.objects.get(pk=document.pk).title == "Shared"
