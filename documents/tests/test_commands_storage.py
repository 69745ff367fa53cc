"""recalc_storage, check_storage, purge_expired (stale uploads) and purge_tombstones (attachments), in both stores."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from documents import storage
from documents.models import Attachment
from documents.services.attachments import attachment_delete
from documents.services.documents import document_delete
from documents.tests.attachments import image_bytes, presign, upload, uploaded
from sync.models import SyncLog
from workspaces.models import Workspace
from workspaces.tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _exists(key: str) -> bool:
    return storage.backend().head(key) is not None


def _used(workspace) -> int:
    return Workspace.objects.get(pk=workspace.pk).storage_used_bytes


def _attachment(team, mode, document=None, data=None, content_type="image/png") -> Attachment:
    body = uploaded(team.client("editor"), mode, team.workspace, document, data, content_type,
                    "notes.txt" if content_type == "text/plain" else "photo.png")
    return Attachment.objects.get(pk=body["attachment_id"])


# --- recalc_storage ------------------------------------------------------------------------------------------

def test_recalc_storage_counts_complete_live_attachments_only(team, document, store_mode):
    kept = _attachment(team, store_mode, document)
    gone = _attachment(team, store_mode, document, b"x" * 300, "text/plain")
    attachment_delete(actor=team.user("owner"), attachment=gone)
    presign(team.client("editor"), team.workspace, data=5000, content_type="image/png")  # pending: not counted
    other = WorkspaceFactory()
    Workspace.objects.filter(pk=other.pk).update(storage_used_bytes=77)
    Workspace.objects.filter(pk=team.workspace.pk).update(storage_used_bytes=12345)

    out = _run("recalc_storage", "--dry-run")
    assert f"{team.workspace.pk} 'Team Space': 12345 -> {kept.size_bytes} bytes" in out
    assert "Would correct 2 workspace(s)." in out
    assert _used(team.workspace) == 12345 and _used(other) == 77

    out = _run("recalc_storage", "--workspace", str(team.workspace.pk))
    assert "Corrected 1 workspace(s)." in out
    assert _used(team.workspace) == kept.size_bytes and _used(other) == 77
    assert "Corrected 0 workspace(s)." in _run("recalc_storage", "--workspace", str(team.workspace.pk))

    assert f"{other.pk} " in _run("recalc_storage")
    assert _used(other) == 0 and _used(team.workspace) == kept.size_bytes


def test_recalc_storage_rejects_a_malformed_workspace_id(db):
    with pytest.raises(CommandError, match="UUID"):
        _run("recalc_storage", "--workspace", "nope")


# --- check_storage ---------------------------------------------------------------------------------------------

@pytest.fixture
def damaged(team, document, store_mode):
    """A healthy attachment, one whose object vanished, one deleted whose objects stayed, and two orphans."""
    store = storage.backend()
    healthy = _attachment(team, store_mode, document)
    lost = _attachment(team, store_mode, document, b"y" * 400, "text/plain")
    store.delete(lost.s3_key)
    leftover = _attachment(team, store_mode, document)
    attachment_delete(actor=team.user("owner"), attachment=leftover)  # its after-commit deletion never ran
    orphans = [f"attachments/{team.workspace.pk}/{uuid.uuid4()}/stray.txt", f"thumbnails/{team.workspace.pk}/x.webp"]
    for key in orphans:
        store.put(key, b"stray", "text/plain")
    return healthy, lost, leftover, sorted(orphans)


def test_check_storage_reports_and_changes_nothing_without_fix(team, damaged):
    healthy, lost, leftover, orphans = damaged
    used, entries = _used(team.workspace), SyncLog.objects.count()

    out = _run("check_storage")

    assert f"missing: attachment {lost.pk} ({lost.s3_key}): The stored object is missing." in out
    assert all(f"orphan: {key}" in out for key in orphans)
    assert f"left after deletion: {leftover.s3_key}" in out
    assert f"left after deletion: {leftover.thumbnail_s3_key}" in out
    assert "Found: 1 attachment(s) without their object, 2 orphan object(s), 2 object(s) of deleted" in out
    assert str(healthy.pk) not in out
    assert Attachment.objects.get(pk=lost.pk).processing_status == "complete"
    assert all(_exists(key) for key in [*orphans, leftover.s3_key, leftover.thumbnail_s3_key])
    assert (_used(team.workspace), SyncLog.objects.count()) == (used, entries)


def test_check_storage_fix_repairs_everything_once(team, damaged, django_capture_on_commit_callbacks):
    healthy, lost, leftover, orphans = damaged
    used = _used(team.workspace)

    with django_capture_on_commit_callbacks(execute=True):
        out = _run("check_storage", "--fix")

    assert "Fixed: 1 attachment(s) without their object, 2 orphan object(s)" in out
    lost.refresh_from_db()
    assert (lost.processing_status, lost.failure_reason) == ("failed", "The stored object is missing.")
    assert _used(team.workspace) == used - lost.size_bytes
    entry = SyncLog.objects.filter(entity_id=lost.pk).latest("seq")
    assert (entry.operation, entry.origin, entry.data["processing_status"]) == ("update", "command", "failed")
    assert not any(_exists(key) for key in [*orphans, leftover.s3_key, leftover.thumbnail_s3_key])
    assert _exists(healthy.s3_key) and _exists(healthy.thumbnail_s3_key)
    assert Attachment.objects.get(pk=healthy.pk).processing_status == "complete"
    assert "Storage and attachment rows agree." in _run("check_storage")


def test_check_storage_keeps_uploads_in_flight(team, store_mode):
    """A pending upload's object and a thumbnail named by its row's id are not orphans."""
    data = image_bytes()
    presigned = presign(team.client("editor"), team.workspace, data=data, content_type="image/png").json()
    assert upload(store_mode, presigned, data, "image/png") in (200, 201, 204)
    thumbnail = f"thumbnails/{team.workspace.pk}/{presigned['attachment_id']}.webp"
    storage.backend().put(thumbnail, b"webp", "image/webp")

    assert "Storage and attachment rows agree." in _run("check_storage", "--fix")
    assert _exists(presigned["upload_fields"]["key"]) and _exists(thumbnail)


# --- purge_expired -----------------------------------------------------------------------------------------------

def test_purge_expired_deletes_uploads_unconfirmed_for_an_hour(team, store_mode, django_capture_on_commit_callbacks):
    data, client = image_bytes(), team.client("editor")
    stale = presign(client, team.workspace, data=data, content_type="image/png").json()
    assert upload(store_mode, stale, data, "image/png") in (200, 201, 204)
    fresh = presign(client, team.workspace, data=data, content_type="image/png").json()
    Attachment.objects.filter(pk=stale["attachment_id"]).update(uploaded_at=timezone.now() - timedelta(minutes=61))

    assert "Would clear 1 unconfirmed uploads." in _run("purge_expired", "--dry-run")
    assert Attachment.objects.filter(pk=stale["attachment_id"]).exists()
    assert _exists(stale["upload_fields"]["key"])

    with django_capture_on_commit_callbacks(execute=True):
        assert "Cleared 1 unconfirmed uploads." in _run("purge_expired")
    assert not Attachment.objects.filter(pk=stale["attachment_id"]).exists()
    assert not _exists(stale["upload_fields"]["key"])
    assert Attachment.objects.get(pk=fresh["attachment_id"]).processing_status == "pending"
    assert "Cleared 0 unconfirmed uploads." in _run("purge_expired")


# --- purge_tombstones ----------------------------------------------------------------------------------------------

def test_purge_tombstones_deletes_old_trashed_attachments_with_their_objects(
    team, document, store_mode, django_capture_on_commit_callbacks
):
    old, recent = _attachment(team, store_mode, document), _attachment(team, store_mode, document)
    for attachment in (old, recent):
        attachment_delete(actor=team.user("owner"), attachment=attachment)  # objects stay: a failed deletion
    Attachment.objects.filter(pk=old.pk).update(deleted_at=timezone.now() - timedelta(days=31))

    assert "1 trashed attachment(s)" in _run("purge_tombstones", "--dry-run")
    assert Attachment.objects.filter(pk=old.pk).exists() and _exists(old.s3_key)

    with django_capture_on_commit_callbacks(execute=True):
        assert "Purged 0 document(s), 0 folder(s) and 1 trashed attachment(s)." in _run("purge_tombstones")
    assert not Attachment.objects.filter(pk=old.pk).exists()
    assert not _exists(old.s3_key) and not _exists(old.thumbnail_s3_key)
    assert Attachment.objects.filter(pk=recent.pk).exists() and _exists(recent.s3_key)


def test_purge_tombstones_takes_a_purged_documents_attachments_and_their_quota(
    team, document, store_mode, django_capture_on_commit_callbacks
):
    attachment = _attachment(team, store_mode, document)
    assert _used(team.workspace) == attachment.size_bytes
    document_delete(actor=team.user("owner"), document=document)
    type(document).objects.filter(pk=document.pk).update(deleted_at=timezone.now() - timedelta(days=31))

    with django_capture_on_commit_callbacks(execute=True):
        assert "Purged 1 document(s)" in _run("purge_tombstones")

    assert not Attachment.objects.filter(pk=attachment.pk).exists()
    assert not _exists(attachment.s3_key) and not _exists(attachment.thumbnail_s3_key)
    assert _used(team.workspace) == 0
    entry = SyncLog.objects.filter(entity_id=attachment.pk).latest("seq")
    assert (entry.operation, entry.origin) == ("delete", "command")
