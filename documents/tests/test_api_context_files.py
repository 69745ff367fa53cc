"""documents/{id}/context-files, context-files/{id}/confirm and context-files/{id} (GET, DELETE), in both stores."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from documents import storage
from documents.models import ContextFile
from documents.tests.attachments import fetch, presign, upload
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import assert_problem, assert_validation, sync_entries, user_summary
from sync.models import SyncLog
from workspaces.models import WorkspaceMember

pytestmark = pytest.mark.django_db

MiB = 1024 * 1024
NOTES = b"# Glossary\n\nA context file for the assistant.\n"
CONTEXT_FILE_FIELDS = {"id", "document_id", "file_name", "file_type", "size_bytes", "storage_mode", "content_hash",
                       "sync_status", "metadata", "created_by", "created_at", "last_synced_at"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def add(client, document, data: bytes | None = None, *, headers=None, **fields):
    """POST documents/{id}/context-files announcing `data` (its size and sha256), overridable field by field."""
    data = NOTES if data is None else data
    body = {"file_name": "glossary.md", "file_type": "md", "size_bytes": len(data), "content_hash": sha(data),
            "storage_mode": "s3", **fields}
    return client.post(f"/api/v1/documents/{document.pk}/context-files", body, format="json", **(headers or {}))


def confirm(client, context_file_id):
    return client.post(f"/api/v1/context-files/{context_file_id}/confirm")


def stored(client, mode, document, data: bytes = NOTES, **fields) -> dict:
    """A synced context file (the confirm body), by the full add → upload → confirm round trip."""
    added = add(client, document, data, **fields).json()
    assert upload(mode, added["upload"], data, added["upload"]["upload_fields"]["Content-Type"]) in (200, 201, 204)
    body = confirm(client, added["context_file"]["id"]).json()
    assert body["sync_status"] == "synced", body
    return body


def used(workspace) -> int:
    workspace.refresh_from_db()
    return workspace.storage_used_bytes


def object_exists(content_hash: str, workspace) -> bool:
    return storage.backend().head(f"context-files/{workspace.pk}/{content_hash}") is not None


def test_api_context_files_local_only_stores_metadata_without_upload_or_quota(team, document):
    response = add(team.client("editor"), document, storage_mode="local", metadata={"source": "desktop"},
                   local_path="/home/ed/glossary.md")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["deduplicated"], body["upload"]) == (False, None)
    context_file = body["context_file"]
    assert set(context_file) == CONTEXT_FILE_FIELDS
    assert context_file["sync_status"] == "local_only" and context_file["storage_mode"] == "local"
    assert context_file["metadata"] == {"source": "desktop"}
    assert context_file["created_by"] == user_summary(team.user("editor"))
    row = ContextFile.objects.get(pk=context_file["id"])
    assert row.s3_key is None and row.content_hash == sha(NOTES) and row.size_bytes == len(NOTES)
    assert used(team.workspace) == 0
    entry = sync_entries(team.workspace)[-1]
    assert (entry.entity_type, entry.operation, str(entry.entity_id)) == (SyncLog.EntityType.CONTEXT_FILE, "create",
                                                                          str(row.pk))
    assert "local_path" not in json.dumps(entry.data)
    got = team.client("viewer").get(f"/api/v1/context-files/{row.pk}").json()
    assert got["download_url"] is None and got["sync_status"] == "local_only"


def test_api_context_files_s3_upload_confirm_and_download(team, document, store_mode,
                                                         django_capture_on_commit_callbacks):
    client = team.client("editor")
    response = add(client, document, NOTES, file_name="glossary.md")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["deduplicated"] is False and body["context_file"]["sync_status"] == "uploading"
    form = body["upload"]
    assert set(form) == {"upload_url", "upload_fields", "expires_in"} and form["expires_in"] == 300
    # The form writes a key of this row's own; the server stores the shared object from the checked bytes.
    staging = f"context-files/{team.workspace.pk}/uploads/{body['context_file']['id']}"
    assert form["upload_fields"]["key"] == staging
    assert form["upload_fields"]["Content-Type"] == "text/markdown"
    if store_mode == "s3":
        policy = json.loads(base64.b64decode(form["upload_fields"]["policy"]))
        assert ["content-length-range", len(NOTES), len(NOTES)] in policy["conditions"]
    assert used(team.workspace) == 0  # reserved, not charged

    assert upload(store_mode, form, NOTES, "text/markdown", "glossary.md") in (200, 201, 204)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = confirm(client, body["context_file"]["id"])
    assert confirmed.status_code == 200, confirmed.content
    assert object_exists(sha(NOTES), team.workspace) and storage.backend().head(staging) is None
    assert set(confirmed.json()) == CONTEXT_FILE_FIELDS
    assert confirmed.json()["sync_status"] == "synced" and confirmed.json()["last_synced_at"] is not None
    assert used(team.workspace) == len(NOTES)
    assert confirm(client, body["context_file"]["id"]).status_code == 200  # again: unchanged, charged once
    assert used(team.workspace) == len(NOTES)

    got = team.client("viewer").get(f"/api/v1/context-files/{body['context_file']['id']}")
    assert got.status_code == 200
    status, headers, content = fetch(got.json()["download_url"])
    assert (status, content) == (200, NOTES) and headers["content-disposition"].startswith("attachment")
    operations = [(e.entity_type, e.operation) for e in sync_entries(team.workspace)]
    assert operations[-2:] == [("context_file", "create"), ("context_file", "update")]
    assert sync_entries(team.workspace)[-1].changes["new"]["sync_status"] == "synced"


def test_api_context_files_dedup_shares_one_object_and_its_quota(
    team, document, store_mode, django_capture_on_commit_callbacks
):
    editor, admin = team.client("editor"), team.client("admin")
    other_document = DocumentFactory(workspace=team.workspace)
    first = stored(editor, store_mode, document)
    # A local row never counts as stored bytes (decision 34), and never dedups either.
    assert add(admin, other_document, NOTES, storage_mode="local").json()["deduplicated"] is False

    response = add(admin, other_document, NOTES, file_name="copy.md", storage_mode="hybrid")
    assert response.status_code == 201
    body = response.json()
    assert (body["deduplicated"], body["upload"]) == (True, None)
    assert body["context_file"]["sync_status"] == "synced" and body["context_file"]["file_name"] == "copy.md"
    second = ContextFile.objects.get(pk=body["context_file"]["id"])
    assert second.s3_key == ContextFile.objects.get(pk=first["id"]).s3_key
    assert used(team.workspace) == len(NOTES)
    assert fetch(team.client("viewer").get(f"/api/v1/context-files/{second.pk}").json()["download_url"])[2] == NOTES

    with django_capture_on_commit_callbacks(execute=True):
        assert editor.delete(f"/api/v1/context-files/{first['id']}").status_code == 204
    assert object_exists(sha(NOTES), team.workspace) and used(team.workspace) == len(NOTES)
    with django_capture_on_commit_callbacks(execute=True):
        assert admin.delete(f"/api/v1/context-files/{second.pk}").status_code == 204
    assert not object_exists(sha(NOTES), team.workspace) and used(team.workspace) == 0
    assert [e.operation for e in sync_entries(team.workspace)][-2:] == ["delete", "delete"]


def test_api_context_files_concurrent_uploads_of_one_object_are_charged_once(team, document, store_mode):
    # Neither row is synced when the other is added: both get a form. Once one is confirmed, the other
    # needs no upload of its own: the shared object holds its bytes.
    editor, admin = team.client("editor"), team.client("admin")
    first, second = add(editor, document).json(), add(admin, document).json()
    assert first["upload"] is not None and second["upload"] is not None
    assert upload(store_mode, first["upload"], NOTES, "text/markdown") in (200, 201, 204)
    assert confirm(editor, first["context_file"]["id"]).status_code == 200
    assert confirm(admin, second["context_file"]["id"]).json()["sync_status"] == "synced"
    assert used(team.workspace) == len(NOTES)


def test_api_context_files_confirm_refuses_other_bytes_and_deletes_the_object(
    team, document, store_mode, django_capture_on_commit_callbacks
):
    client, forged = team.client("editor"), NOTES.replace(b"A context", b"A forged!")
    assert len(forged) == len(NOTES)
    added = add(client, document, NOTES).json()
    assert upload(store_mode, added["upload"], forged, "text/markdown") in (200, 201, 204)
    with django_capture_on_commit_callbacks(execute=True):
        body = assert_problem(confirm(client, added["context_file"]["id"]), 400, "upload-verification-failed")
    assert "sha256" in body["detail"]
    row = ContextFile.objects.get(pk=added["context_file"]["id"])
    assert row.sync_status == "pending" and row.deleted_at is None
    assert not object_exists(sha(NOTES), team.workspace) and used(team.workspace) == 0
    assert sync_entries(team.workspace)[-1].changes["new"]["sync_status"] == "pending"


def test_api_context_files_size_mismatch_fails(team, document, store_mode, django_capture_on_commit_callbacks):
    client = team.client("editor")
    added = add(client, document, NOTES, size_bytes=len(NOTES) - 5).json()
    status = upload(store_mode, added["upload"], NOTES, "text/markdown")
    if store_mode == "local":
        assert status == 413  # the local target stops reading past the signed size
    with django_capture_on_commit_callbacks(execute=True):
        assert_problem(confirm(client, added["context_file"]["id"]), 400, "upload-verification-failed")
    assert ContextFile.objects.get(pk=added["context_file"]["id"]).sync_status == "pending"
    assert not object_exists(sha(NOTES), team.workspace) and used(team.workspace) == 0


def test_api_context_files_a_failed_confirm_never_touches_the_shared_object(
    team, document, store_mode, django_capture_on_commit_callbacks
):
    editor, admin = team.client("editor"), team.client("admin")
    first, second = add(editor, document).json(), add(admin, document).json()
    assert upload(store_mode, first["upload"], b"x" * len(NOTES), "text/markdown") in (200, 201, 204)
    with django_capture_on_commit_callbacks(execute=True):
        assert_problem(confirm(editor, first["context_file"]["id"]), 400, "upload-verification-failed")
    assert not object_exists(sha(NOTES), team.workspace)  # the forged bytes never reached the shared key
    assert upload(store_mode, second["upload"], NOTES, "text/markdown") in (200, 201, 204)
    assert confirm(admin, second["context_file"]["id"]).json()["sync_status"] == "synced"
    assert used(team.workspace) == len(NOTES)


def test_api_context_files_a_late_upload_under_the_same_hash_cannot_replace_what_others_read(
    team, document, store_mode, django_capture_on_commit_callbacks
):
    """A member holding a form for the same hash posts other bytes after the object was confirmed: the
    shared object keeps the confirmed bytes, and that member's confirm fails."""
    editor, admin = team.client("editor"), team.client("admin")
    honest, late = add(editor, document).json(), add(admin, document).json()
    assert upload(store_mode, honest["upload"], NOTES, "text/markdown") in (200, 201, 204)
    assert confirm(editor, honest["context_file"]["id"]).status_code == 200
    forged = NOTES.replace(b"A context", b"A forged!")
    assert upload(store_mode, late["upload"], forged, "text/markdown") in (200, 201, 204)
    with django_capture_on_commit_callbacks(execute=True):
        assert_problem(confirm(admin, late["context_file"]["id"]), 400, "upload-verification-failed")
    got = team.client("viewer").get(f"/api/v1/context-files/{honest['context_file']['id']}").json()
    assert fetch(got["download_url"])[2] == NOTES


def test_api_context_files_same_name_other_bytes_on_one_document_is_renamed(team, document):
    client = team.client("editor")
    names = [add(client, document, data, file_name="notes.md", storage_mode="local").json()["context_file"]["file_name"]
             for data in (b"one", b"two", b"three", b"one")]
    assert names == ["notes.md", "notes (2).md", "notes (3).md", "notes.md"]  # the same bytes keep the name
    elsewhere = DocumentFactory(workspace=team.workspace)
    assert add(client, elsewhere, b"two", file_name="notes.md", storage_mode="local").json()[
        "context_file"]["file_name"] == "notes.md"
    assert add(client, document, b"four", file_name="README", storage_mode="local").json()[
        "context_file"]["file_name"] == "README"
    assert add(client, document, b"five", file_name="README", storage_mode="local").json()[
        "context_file"]["file_name"] == "README (2)"


@pytest.mark.parametrize("file_type", ["exe", "svg", "html", "png", "markdown"])
def test_api_context_files_other_types_are_415(team, document, file_type):
    assert_problem(add(team.client("editor"), document, file_type=file_type), 415, "unsupported-media-type")
    assert not ContextFile.objects.exists()


def test_api_context_files_more_than_10_mib_is_413(team, document):
    client = team.client("editor")
    assert add(client, document, size_bytes=10 * MiB, storage_mode="local").status_code == 201
    assert_problem(add(client, document, size_bytes=10 * MiB + 1, storage_mode="local"), 413, "payload-too-large")
    assert_problem(add(client, document, size_bytes=10 * MiB + 1), 413, "payload-too-large")


@pytest.mark.parametrize(("fields", "error"), [
    ({"content_hash": sha(NOTES).upper()}, "content_hash"),
    ({"content_hash": sha(NOTES)[:63]}, "content_hash"),
    ({"content_hash": "g" * 64}, "content_hash"),
    ({"content_hash": sha(NOTES) + "\n"}, "content_hash"),
    ({"storage_mode": "dropbox"}, "storage_mode"),
    ({"size_bytes": -1}, "size_bytes"),
    ({"metadata": ["not", "an", "object"]}, "metadata"),
    ({"file_name": ""}, "file_name"),
])
def test_api_context_files_bad_input_is_400(team, document, fields, error):
    assert_validation(add(team.client("editor"), document, **fields), error)
    assert not ContextFile.objects.exists()


def test_api_context_files_quota_counts_uploads_in_flight(team, document, store_mode):
    team.workspace.storage_limit_bytes, team.workspace.storage_used_bytes = 1000, 300
    team.workspace.save(update_fields=["storage_limit_bytes", "storage_used_bytes"])
    client = team.client("editor")
    assert add(client, document, b"a" * 500).status_code == 201
    assert_problem(add(client, document, b"b" * 201), 413, "storage-quota-exceeded")
    assert_problem(presign(client, team.workspace, data=201, content_type="text/plain"), 413,
                   "storage-quota-exceeded")  # attachments see the reservation too
    assert add(client, document, b"c" * 200).status_code == 201
    assert add(client, document, b"d" * 900, storage_mode="local").status_code == 201  # local: no quota


@pytest.mark.parametrize(("actor", "status"), [("viewer", 403), ("commenter", 403), ("non_member", 404),
                                               ("editor", 201), ("admin", 201), ("owner", 201)])
def test_api_context_files_add_needs_the_edit_flag(team, document, store_mode, actor, status):
    response = add(team.client(actor), document)
    assert response.status_code == status, response.content
    assert ContextFile.objects.exists() is (status == 201)


@pytest.mark.parametrize(("kind", "status"), [("grant-editor", 201), ("grant-viewer", 403), ("link-view", 403)])
def test_api_context_files_add_by_outsiders(document, outsider, store_mode, kind, status):
    _, client, headers = outsider(kind)
    assert add(client, document, headers=headers).status_code == status


@pytest.mark.parametrize("reader", ["viewer", "commenter", "grant-viewer", "link-view"])
def test_api_context_files_readers_list_and_read(team, document, outsider, store_mode, reader):
    done = stored(team.client("editor"), store_mode, document)
    add(team.client("editor"), DocumentFactory(workspace=team.workspace))  # another document's: not listed
    if reader in ("viewer", "commenter"):
        client, headers = team.client(reader), {}
    else:
        _, client, headers = outsider(reader)
    response = client.get(f"/api/v1/documents/{document.pk}/context-files", **headers)
    assert response.status_code == 200, response.content
    assert response.json() == {"context_files": [done]}
    got = client.get(f"/api/v1/context-files/{done['id']}", **headers)
    assert got.status_code == 200 and fetch(got.json()["download_url"])[2] == NOTES


def test_api_context_files_hidden_from_non_members_and_list_without_per_row_queries(team, document):
    client = team.client("editor")
    first = add(client, document, b"0", storage_mode="local").json()["context_file"]
    assert_problem(team.client("non_member").get(f"/api/v1/documents/{document.pk}/context-files"), 404, "not-found")
    assert_problem(team.client("non_member").get(f"/api/v1/context-files/{first['id']}"), 404, "not-found")
    assert_problem(client.get("/api/v1/context-files/not-a-uuid"), 404, "not-found")
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(f"/api/v1/documents/{document.pk}/context-files").json()["context_files"]) == 1
    for number in range(1, 4):
        add(team.client("admin"), document, str(number).encode(), storage_mode="local")
    with CaptureQueriesContext(connection) as four:
        assert len(client.get(f"/api/v1/documents/{document.pk}/context-files").json()["context_files"]) == 4
    assert len(four) == len(one)


def test_api_context_files_confirm_by_someone_else_is_404(team, document, store_mode):
    added = add(team.client("editor"), document).json()
    upload(store_mode, added["upload"], NOTES, "text/markdown")
    for actor in ("owner", "admin", "non_member"):
        assert_problem(confirm(team.client(actor), added["context_file"]["id"]), 404, "not-found")
    assert ContextFile.objects.get(pk=added["context_file"]["id"]).sync_status == "uploading"


@pytest.mark.parametrize(("actor", "status"), [("editor", 204), ("admin", 204), ("owner", 204),
                                               ("other_editor", 403), ("viewer", 403), ("non_member", 404)])
def test_api_context_files_delete_follows_the_matrix(
    team, document, store_mode, actor, status, django_capture_on_commit_callbacks
):
    done = stored(team.client("editor"), store_mode, document)
    if actor == "other_editor":
        WorkspaceMember.objects.filter(pk=team.member("commenter").pk).update(role="editor")
        actor = "commenter"  # now an editor who did not add it
    with django_capture_on_commit_callbacks(execute=True):
        response = team.client(actor).delete(f"/api/v1/context-files/{done['id']}")
    assert response.status_code == status, response.content
    row = ContextFile.objects.get(pk=done["id"])
    if status != 204:
        assert row.deleted_at is None and used(team.workspace) == len(NOTES)
        assert object_exists(sha(NOTES), team.workspace)
        return
    assert row.deleted_at is not None and used(team.workspace) == 0
    assert not object_exists(sha(NOTES), team.workspace)
    assert_problem(team.client("owner").get(f"/api/v1/context-files/{row.pk}"), 404, "not-found")
    assert team.client("owner").get(f"/api/v1/documents/{document.pk}/context-files").json() == {"context_files": []}


def test_api_context_files_deleting_an_upload_in_flight_frees_its_reservation(
    team, document, store_mode, django_capture_on_commit_callbacks
):
    team.workspace.storage_limit_bytes = len(NOTES)
    team.workspace.save(update_fields=["storage_limit_bytes"])
    client = team.client("editor")
    added = add(client, document).json()
    upload(store_mode, added["upload"], NOTES, "text/markdown")
    assert_problem(add(client, document, b"z"), 413, "storage-quota-exceeded")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/v1/context-files/{added['context_file']['id']}").status_code == 204
    assert not object_exists(sha(NOTES), team.workspace) and used(team.workspace) == 0
    assert add(client, document, b"z").status_code == 201
