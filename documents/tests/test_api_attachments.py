"""documents/{id}/attachments, attachments/{id} (GET, DELETE) and local downloads, in both stores."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from documents import storage
from documents.models import Attachment
from documents.tests.attachments import fetch, image_bytes, uploaded
from documents.tests.helpers import assert_problem, sync_entries, user_summary
from sync.models import SyncLog
from workspaces.models import WorkspaceMember

pytestmark = pytest.mark.django_db

ATTACHMENT_FIELDS = {"id", "workspace_id", "document_id", "file_name", "content_type", "size_bytes",
                     "processing_status", "metadata", "cdn_url", "download_url", "thumbnail_url", "uploaded_by",
                     "uploaded_at"}


def _list(client, document, headers=None, query=""):
    return client.get(f"/api/v1/documents/{document.pk}/attachments{query}", **(headers or {}))


@pytest.mark.parametrize("reader", ["viewer", "commenter", "grant-viewer", "link-view"])
def test_api_attachments_list_readers_see_completed_attachments(team, document, outsider, store_mode, reader):
    done = uploaded(team.client("editor"), store_mode, team.workspace, document)
    uploaded(team.client("editor"), store_mode, team.workspace)  # on no document: not listed
    if reader in ("viewer", "commenter"):
        client, headers = team.client(reader), {}
    else:
        _, client, headers = outsider(reader)
    response = _list(client, document, headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["total"] == 1
    [row] = body["attachments"]
    assert set(row) == ATTACHMENT_FIELDS
    assert row["id"] == done["attachment_id"] and row["uploaded_by"] == user_summary(team.user("editor"))
    assert row["metadata"] == {"width": 800, "height": 600, "format": "PNG"}
    assert fetch(row["download_url"])[0] == 200


def test_api_attachments_list_non_member_404_and_pages_without_per_row_queries(team, document, store_mode):
    assert_problem(_list(team.client("non_member"), document), 404, "not-found")
    editor = team.client("editor")
    uploaded(editor, store_mode, team.workspace, document)
    with CaptureQueriesContext(connection) as one:
        assert _list(editor, document).json()["total"] == 1
    for _ in range(2):
        uploaded(editor, store_mode, team.workspace, document)
    with CaptureQueriesContext(connection) as three:
        body = _list(editor, document, query="?limit=2&offset=1").json()
    assert (body["total"], len(body["attachments"])) == (3, 2)
    assert len(three) == len(one)
    assert _list(editor, document, query="?limit=0").status_code == 400


def test_api_attachments_retrieve_gives_fresh_urls_and_hides_from_outsiders(team, document, store_mode):
    done = uploaded(team.client("editor"), store_mode, team.workspace, document)
    response = team.client("viewer").get(f"/api/v1/attachments/{done['attachment_id']}")
    assert response.status_code == 200
    assert set(response.json()) == ATTACHMENT_FIELDS
    status, _, content = fetch(response.json()["download_url"])
    assert (status, content) == (200, image_bytes())
    assert_problem(team.client("non_member").get(f"/api/v1/attachments/{done['attachment_id']}"), 404, "not-found")
    assert_problem(team.client("viewer").get("/api/v1/attachments/not-a-uuid"), 404, "not-found")


@pytest.mark.parametrize(("actor", "status"), [("editor", 204), ("admin", 204), ("owner", 204),
                                               ("other_editor", 403), ("viewer", 403), ("non_member", 404)])
def test_api_attachments_delete_follows_the_matrix_and_gives_quota_back(
    team, document, store_mode, actor, status, django_capture_on_commit_callbacks
):
    done = uploaded(team.client("editor"), store_mode, team.workspace, document)
    row = Attachment.objects.get(pk=done["attachment_id"])
    if actor == "other_editor":
        WorkspaceMember.objects.filter(pk=team.member("commenter").pk).update(role="editor")
        actor = "commenter"  # now an editor who did not upload it
    with django_capture_on_commit_callbacks(execute=True):
        response = team.client(actor).delete(f"/api/v1/attachments/{row.pk}")
    assert response.status_code == status, response.content
    team.workspace.refresh_from_db()
    row.refresh_from_db()
    store = storage.backend()
    if status != 204:
        assert row.deleted_at is None and team.workspace.storage_used_bytes == row.size_bytes
        assert store.head(row.s3_key) is not None
        return
    assert row.deleted_at is not None and team.workspace.storage_used_bytes == 0
    assert store.head(row.s3_key) is None and store.head(row.thumbnail_s3_key) is None
    entry = sync_entries(team.workspace)[-1]
    assert (entry.entity_type, entry.operation) == (SyncLog.EntityType.ATTACHMENT, "delete")
    assert_problem(team.client("owner").get(f"/api/v1/attachments/{row.pk}"), 404, "not-found")
    assert _list(team.client("owner"), document).json()["total"] == 0


def test_api_attachments_local_download_refuses_tampered_signature(team, document, settings, tmp_path):
    settings.STORAGE_IS_S3, settings.MEDIA_ROOT = False, tmp_path
    done = uploaded(team.client("editor"), "local", team.workspace, document)
    assert fetch(done["download_url"])[0] == 200
    assert_problem(team.client("editor").get(done["download_url"][:-2] + "xx"), 403, "permission-denied")
