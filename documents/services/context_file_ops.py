"""Operator work on stored context files (SPEC §7, §8): re-verify objects, find lost and orphaned ones, purge stale uploads.

Rows of one workspace with the same `s3_key` share one object and its quota (decision 34), so a lost or
wrong object is a fact about every live synced row naming it: they all go back to `pending` together and
the quota the object was charged goes back once. Decisions about a key are taken under the workspace row
lock, as the API's add, confirm and delete take them; objects are deleted after commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from documents import storage
from documents.models import ContextFile
from documents.services.context_files import (
    NOT_UPLOADED,
    context_file_sync_data,
    live_with_key,
    record,
    staging_key,
    verified_bytes,
)
from documents.services.quota import PENDING_TTL
from sync.models import SyncLog
from sync.origin import COMMAND, Origin
from workspaces.models import Workspace

PREFIX = "context-files/"
MISSING = "The stored object is missing."
Status = ContextFile.SyncStatus


def _object_problem(store, row: ContextFile) -> str | None:
    """Why the object does not hold the row's bytes (missing, other size, other sha256), or None when it does."""
    data, reason = verified_bytes(store, row.s3_key, size=row.size_bytes, content_hash=row.content_hash)
    if data is not None:
        return None
    return MISSING if reason == NOT_UPLOADED else reason


@transaction.atomic
def context_file_reverify(*, context_file: ContextFile, actor=None, origin: Origin = COMMAND) -> str | None:
    """Check a live synced row's object (HEAD, size, sha256); when it is missing or wrong, every live synced
    row naming it goes back to `pending` (as a failed confirm leaves a row), with one sync entry each.

    The quota the object was charged goes back once; a wrong object is deleted after commit unless an upload
    to that key is in flight. Returns the failure reason, or None when the object is fine (or the row is not
    live, synced and stored).
    """
    verifiable = ContextFile.objects.filter(
        pk=context_file.pk, deleted_at__isnull=True, sync_status=Status.SYNCED, s3_key__isnull=False
    )
    Workspace.objects.select_for_update().get(pk=context_file.workspace_id)
    row = verifiable.first()  # read under the lock: a delete or another re-verify may have come first
    if row is None:
        return None
    store = storage.backend()
    reason = _object_problem(store, row)
    if reason is None:
        return None
    synced = list(
        live_with_key(row.workspace_id, row.s3_key).filter(sync_status=Status.SYNCED)
        .select_for_update().order_by("pk")
    )
    if synced:
        Workspace.objects.filter(pk=row.workspace_id).update(
            storage_used_bytes=F("storage_used_bytes") - max(r.size_bytes for r in synced)
        )
    for stale in synced:
        old = context_file_sync_data(stale)
        stale.sync_status = Status.PENDING
        stale.save(update_fields=["sync_status", "updated_at"])
        record(stale, SyncLog.Operation.UPDATE, old=old, actor=actor, origin=origin)
    in_flight = live_with_key(row.workspace_id, row.s3_key).filter(sync_status=Status.UPLOADING).exists()
    if reason != MISSING and not in_flight:
        storage.delete_after_commit([row.s3_key], store)
    return reason


def context_files_check(*, listed: set[str], fix: bool) -> tuple[list[tuple[ContextFile, str]], list[str]]:
    """`(live synced rows whose object is missing with the reason, objects under context-files/ no live row names)`.

    `listed` are the keys under `context-files/`, listed before the rows are read (a row exists before its
    object is uploaded, so an unnamed listed object is truly orphaned). A synced row's key missing from the
    listing is HEADed before it counts; with `fix` it is re-verified, which puts its rows back to pending.
    Orphans are reported here and deleted by the caller.
    """
    store, referenced, verdicts, missing = storage.backend(), set(), {}, []
    rows = ContextFile.objects.filter(deleted_at__isnull=True, s3_key__isnull=False).order_by("pk")
    for row in rows.iterator(chunk_size=500):
        referenced.add(row.s3_key)
        if row.sync_status != Status.SYNCED:
            referenced.add(staging_key(row))  # an upload under way
        if row.sync_status != Status.SYNCED or row.s3_key in listed:
            continue
        scope = (row.workspace_id, row.s3_key)
        if scope not in verdicts:
            if fix:
                verdicts[scope] = context_file_reverify(context_file=row)
            else:
                verdicts[scope] = MISSING if store.head(row.s3_key) is None else None
        if verdicts[scope] is not None:
            missing.append((row, verdicts[scope]))
    return missing, sorted(listed - referenced)


# --- purge ---------------------------------------------------------------------------------------------------

def _stale() -> Q:
    return Q(
        sync_status__in=(Status.PENDING, Status.UPLOADING), deleted_at__isnull=True,
        updated_at__lt=timezone.now() - PENDING_TTL,
    )


@transaction.atomic
def _purge_workspace(workspace_id, *, actor, origin: Origin) -> int:
    """Hard-delete the workspace's stale rows (a sync delete entry each) and the objects no live row names after."""
    Workspace.objects.select_for_update().get(pk=workspace_id)
    # Rows another transaction holds (a confirm under way) are left for the next run.
    rows = list(
        ContextFile.objects.filter(_stale(), workspace_id=workspace_id)
        .select_for_update(skip_locked=True).order_by("pk")
    )
    now = timezone.now()
    for row in rows:
        old = context_file_sync_data(row)
        row.deleted_at = now
        record(row, SyncLog.Operation.DELETE, old=old, actor=actor, origin=origin)
    ContextFile.objects.filter(pk__in=[row.pk for row in rows]).delete()
    keys = {row.s3_key for row in rows if row.s3_key}
    named = set(_live_with_key_in(workspace_id, keys))
    storage.delete_after_commit((keys - named) | {staging_key(row) for row in rows if row.s3_key})
    return len(rows)


def _live_with_key_in(workspace_id, keys: Iterable[str]):
    return ContextFile.objects.filter(
        workspace_id=workspace_id, s3_key__in=list(keys), deleted_at__isnull=True
    ).values_list("s3_key", flat=True)


def context_files_purge_pending(*, dry_run: bool = False, actor=None, origin: Origin = COMMAND) -> int:
    """Delete context files left `uploading`/`pending` for over an hour (since their last change); their
    objects go only when no other live row names them. Returns how many rows (would) go."""
    stale = ContextFile.objects.filter(_stale())
    if dry_run:
        return stale.count()
    workspaces = stale.values_list("workspace_id", flat=True).distinct().order_by("workspace_id")
    return sum(_purge_workspace(workspace_id, actor=actor, origin=origin) for workspace_id in list(workspaces))
