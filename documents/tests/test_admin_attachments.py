"""The Attachment admin (filters, search, re-verify, delete object) and the workspace's recalculate storage action."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from documents import storage
from documents.models import Attachment
from documents.tests.attachments import uploaded
from sync.models import SyncLog
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/documents/attachment/"


def _attachment(team, mode, document, data=None, content_type="image/png", file_name="photo.png") -> Attachment:
    body = uploaded(team.client("editor"), mode, team.workspace, document, data, content_type, file_name)
    return Attachment.objects.get(pk=body["attachment_id"])


def _action(client, action, rows, url=CHANGELIST):
    return client.post(url, {"action": action, "_selected_action": [str(row.pk) for row in rows]}, follow=True)


def _used(workspace) -> int:
    return Workspace.objects.get(pk=workspace.pk).storage_used_bytes


def _exists(key: str) -> bool:
    return storage.backend().head(key) is not None


def test_admin_attachments_search_and_filters(support_client, team, document, store_mode):
    photo = _attachment(team, store_mode, document)
    notes = _attachment(team, store_mode, document, b"n" * 100, "text/plain", "notes.txt")
    Attachment.objects.filter(pk=notes.pk).update(processing_status="failed")

    def listed(**query) -> set[str]:
        page = support_client.get(CHANGELIST, query)
        assert page.status_code == 200
        return {name for name in ("photo.png", "notes.txt") if name in page.content.decode()}

    assert listed() == {"photo.png", "notes.txt"}
    assert listed(q="notes") == {"notes.txt"}
    assert listed(q=photo.s3_key) == {"photo.png"}
    assert listed(q="Team Space") == {"photo.png", "notes.txt"}
    assert listed(processing_status__exact="failed") == {"notes.txt"}
    assert listed(storage_backend__exact=store_mode) == {"photo.png", "notes.txt"}
    other = "s3" if store_mode == "local" else "local"
    assert listed(storage_backend__exact=other) == set()
    detail = support_client.get(f"{CHANGELIST}{photo.pk}/change/")
    assert detail.status_code == 200 and photo.s3_key in detail.content.decode()


def test_admin_attachments_reverify_marks_missing_and_wrong_sized_objects_failed(
    support_client, team, document, store_mode, django_capture_on_commit_callbacks
):
    healthy, missing, resized = (_attachment(team, store_mode, document) for _ in range(3))
    store = storage.backend()
    store.delete(missing.s3_key)
    store.put(resized.s3_key, b"short", "image/png")
    used = _used(team.workspace)

    with django_capture_on_commit_callbacks(execute=True):
        page = _action(support_client, "reverify_object", [healthy, missing, resized]).content.decode()

    assert "Re-verified 3 attachment(s); 2 failed." in page
    for row in (healthy, missing, resized):
        row.refresh_from_db()
    assert healthy.processing_status == "complete" and _exists(healthy.s3_key)
    assert (missing.processing_status, missing.failure_reason) == ("failed", "The stored object is missing.")
    assert resized.processing_status == "failed"
    assert resized.failure_reason == f"The stored object has 5 bytes, {resized.size_bytes} were confirmed."
    assert not _exists(resized.s3_key) and not _exists(resized.thumbnail_s3_key)
    assert _used(team.workspace) == used - missing.size_bytes - resized.size_bytes
    entry = SyncLog.objects.filter(entity_id=missing.pk).latest("seq")
    assert (entry.operation, entry.origin) == ("update", "admin")

    page = _action(support_client, "reverify_object", [missing]).content.decode()
    assert "Skipped 1 selected row(s): not complete, or deleted." in page


def test_admin_attachments_delete_object_soft_deletes_and_gives_quota_back(
    support_client, team, document, store_mode, django_capture_on_commit_callbacks
):
    attachment = _attachment(team, store_mode, document)
    assert _used(team.workspace) == attachment.size_bytes

    with django_capture_on_commit_callbacks(execute=True):
        page = _action(support_client, "delete_object", [attachment]).content.decode()

    assert "Deleted 1 attachment(s) and their objects." in page
    attachment.refresh_from_db()
    assert attachment.deleted_at is not None
    assert not _exists(attachment.s3_key) and not _exists(attachment.thumbnail_s3_key)
    assert _used(team.workspace) == 0
    entry = SyncLog.objects.filter(entity_id=attachment.pk).latest("seq")
    assert (entry.operation, entry.origin) == ("delete", "admin")
    assert "Skipped 1 selected row(s): already deleted." in _action(
        support_client, "delete_object", [attachment]).content.decode()
    assert _used(team.workspace) == 0


def test_admin_attachments_actions_need_support(team, document, store_mode):
    attachment = _attachment(team, store_mode, document)
    staff = UserFactory(is_staff=True)  # staff, but not in the support group
    client = Client()
    client.force_login(staff)
    _action(client, "delete_object", [attachment])
    attachment.refresh_from_db()
    assert attachment.deleted_at is None and _exists(attachment.s3_key)


def test_admin_workspace_recalculate_storage(support_client, team, document, store_mode):
    attachment = _attachment(team, store_mode, document)
    Workspace.objects.filter(pk=team.workspace.pk).update(storage_used_bytes=999_999)

    page = _action(support_client, "recalculate_storage", [team.workspace], "/admin/workspaces/workspace/")

    assert f"Team Space: 999999 -&gt; {attachment.size_bytes} bytes" in page.content.decode()
    assert _used(team.workspace) == attachment.size_bytes
