"""check_storage and purge_expired for context files, in both stores."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from documents import storage
from documents.models import ContextFile
from documents.services.context_files import context_file_delete
from documents.tests.factories import DocumentFactory
from documents.tests.test_api_context_files import add, confirm, sha, stored
from sync.models import SyncLog
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

GLOSSARY = b"# Glossary\n\nTerms.\n"
DATA = b"a,b\n1,2\n"


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _exists(key: str) -> bool:
    return storage.backend().head(key) is not None


def _used(workspace) -> int:
    return Workspace.objects.get(pk=workspace.pk).storage_used_bytes


def _row(body: dict) -> ContextFile:
    return ContextFile.objects.get(pk=body["id"] if "id" in body else body["context_file"]["id"])


@pytest.fixture
def damaged(team, document, store_mode, django_capture_on_commit_callbacks):
    """A healthy context file; two rows sharing an object that vanished; an object only a deleted row named;
    a stray object; and an upload in flight whose object is there."""
    client, store = team.client("editor"), storage.backend()
    with django_capture_on_commit_callbacks(execute=True):  # confirmed uploads leave nothing behind
        healthy = _row(stored(client, store_mode, document, GLOSSARY))
        lost = _row(stored(client, store_mode, document, DATA, file_name="data.csv", file_type="csv"))
    twin = _row(add(client, DocumentFactory(workspace=team.workspace), DATA, file_name="data.csv",
                    file_type="csv").json())
    store.delete(lost.s3_key)
    with django_capture_on_commit_callbacks(execute=True):
        gone = _row(stored(client, store_mode, document, b"gone", file_name="gone.txt", file_type="txt"))
    context_file_delete(actor=team.user("owner"), context_file=gone)  # its after-commit deletion never ran
    stray = f"context-files/{team.workspace.pk}/{sha(b'stray')}"
    store.put(stray, b"stray", "text/plain")
    in_flight = add(client, document, b"uploading", file_name="later.txt", file_type="txt").json()
    store.put(in_flight["upload"]["upload_fields"]["key"], b"uploading", "text/plain")
    return healthy, (lost, twin), sorted([gone.s3_key, stray]), in_flight


def test_check_storage_reports_context_files_and_changes_nothing_without_fix(team, damaged):
    healthy, lost_rows, orphans, in_flight = damaged
    used, entries = _used(team.workspace), SyncLog.objects.count()

    out = _run("check_storage")

    for row in lost_rows:
        assert f"missing: context file {row.pk} ({row.s3_key}): The stored object is missing." in out
    assert all(f"orphan: {key}" in out for key in orphans)
    assert str(healthy.pk) not in out and in_flight["upload"]["upload_fields"]["key"] not in out
    assert "2 orphan object(s)" in out and "2 context file(s) without their object" in out
    assert {row.sync_status for row in ContextFile.objects.filter(pk__in=[r.pk for r in lost_rows])} == {"synced"}
    assert all(_exists(key) for key in orphans)
    assert (_used(team.workspace), SyncLog.objects.count()) == (used, entries)


def test_check_storage_fix_puts_lost_context_files_back_to_pending_and_deletes_orphans(
    team, damaged, django_capture_on_commit_callbacks
):
    healthy, lost_rows, orphans, in_flight = damaged
    used = _used(team.workspace)

    with django_capture_on_commit_callbacks(execute=True):
        out = _run("check_storage", "--fix")

    assert "Fixed:" in out and "2 context file(s) without their object" in out
    for row in lost_rows:
        row.refresh_from_db()
        assert row.sync_status == "pending"
        entry = SyncLog.objects.filter(entity_id=row.pk).latest("seq")
        assert (entry.operation, entry.origin, entry.data["sync_status"]) == ("update", "command", "pending")
    assert _used(team.workspace) == used - len(DATA)  # the shared object was charged once
    assert not any(_exists(key) for key in orphans)
    assert _exists(healthy.s3_key) and _exists(in_flight["upload"]["upload_fields"]["key"])
    assert ContextFile.objects.get(pk=healthy.pk).sync_status == "synced"
    assert "Storage and attachment rows agree." in _run("check_storage")


def test_check_storage_fix_keeps_quota_while_another_synced_row_names_an_object(team, document, store_mode):
    """Only the last synced reference gives the quota back: two rows, one object, charged once."""
    client = team.client("editor")
    first = _row(stored(client, store_mode, document, DATA, file_name="data.csv", file_type="csv"))
    _row(add(client, DocumentFactory(workspace=team.workspace), DATA, file_name="data.csv", file_type="csv").json())
    assert _used(team.workspace) == len(DATA)
    storage.backend().delete(first.s3_key)

    _run("check_storage", "--fix")

    assert _used(team.workspace) == 0
    assert set(ContextFile.objects.values_list("sync_status", flat=True)) == {"pending"}
    _run("check_storage", "--fix")
    assert _used(team.workspace) == 0


# --- purge_expired -----------------------------------------------------------------------------------------------

def test_purge_expired_deletes_context_files_stuck_for_an_hour(
    team, document, store_mode, django_capture_on_commit_callbacks
):
    client, store = team.client("editor"), storage.backend()
    stale = add(client, document, b"stale bytes", file_name="stale.txt", file_type="txt").json()
    stale_key = stale["upload"]["upload_fields"]["key"]
    store.put(stale_key, b"stale bytes", "text/plain")  # uploaded, never confirmed
    failed = add(client, document, b"failed", file_name="failed.txt", file_type="txt").json()
    assert confirm(client, failed["context_file"]["id"]).status_code == 400  # nothing uploaded: back to pending
    shared = add(client, document, GLOSSARY).json()  # stuck, while a fresh row of the same bytes is under way
    shared_key = shared["upload"]["upload_fields"]["key"]
    store.put(shared_key, GLOSSARY, "text/markdown")
    fresh = add(client, DocumentFactory(workspace=team.workspace), GLOSSARY).json()
    hour_ago = timezone.now() - timedelta(minutes=61)
    ContextFile.objects.filter(
        pk__in=[stale["context_file"]["id"], failed["context_file"]["id"], shared["context_file"]["id"]]
    ).update(updated_at=hour_ago)

    assert "Would clear 3 unconfirmed context files." in _run("purge_expired", "--dry-run")
    assert ContextFile.objects.count() == 4 and _exists(stale_key)

    with django_capture_on_commit_callbacks(execute=True):
        assert "Cleared 3 unconfirmed context files." in _run("purge_expired")

    assert list(ContextFile.objects.values_list("pk", flat=True)) == [ContextFile.objects.get().pk]
    assert str(ContextFile.objects.get().pk) == fresh["context_file"]["id"]
    assert not _exists(stale_key) and not _exists(shared_key)  # each row's upload went with it
    for body in (stale, failed, shared):
        entry = SyncLog.objects.filter(entity_id=body["context_file"]["id"]).latest("seq")
        assert (entry.operation, entry.origin) == ("delete", "command")
        assert entry.data["deleted_at"] is not None
    assert _used(team.workspace) == 0
    assert "Cleared 0 unconfirmed context files." in _run("purge_expired")
    # the fresh row's own upload was left alone
    store.put(fresh["upload"]["upload_fields"]["key"], GLOSSARY, "text/markdown")
    assert confirm(client, fresh["context_file"]["id"]).json()["sync_status"] == "synced"
