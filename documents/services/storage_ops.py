"""Operator work on stored attachments (SPEC §7, §8; context files' part in context_file_ops): count quota use, re-verify and check objects, purge.

The store is the one the settings choose; rows stored under another backend or bucket are left alone.
Objects are deleted after commit, as the API does, so a rolled-back change never loses a referenced file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from documents import storage
from documents.models import Attachment, ContextFile
from documents.services import context_file_ops
from documents.services.attachments import attachment_sync_data
from documents.services.quota import PENDING_TTL, RESERVING
from sync.models import SyncLog
from sync.origin import COMMAND, Origin
from sync.services import record_change
from workspaces.models import Workspace

PREFIXES = ("attachments/", "thumbnails/")
PROGRESS_EVERY = 500
Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """The default progress reporter: says nothing."""


def _in_this_store() -> Q:
    store = storage.backend()
    return Q(storage_backend=store.name, s3_bucket=store.bucket)


# --- quota ---------------------------------------------------------------------------------------------

# --- verification ---------------------------------------------------------------------------------------

def _object_problem(attachment: Attachment) -> str | None:
    """Why the stored object does not back the row (missing, wrong size), or None when it does."""
    found = storage.backend().head(attachment.s3_key)
    if found is None:
        return "The stored object is missing."
    if found.size != attachment.size_bytes:
        return f"The stored object has {found.size} bytes, {attachment.size_bytes} were confirmed."
    return None


def _fail_complete(attachment: Attachment, *, reason: str, actor, origin: Origin) -> None:
    """Mark a complete, locked attachment failed: quota back, sync entry, its objects deleted after commit.

    A failed attachment owns no object (as at confirm), so a wrong-sized object goes too.
    """
    old = attachment_sync_data(attachment)
    attachment.processing_status = Attachment.Status.FAILED
    attachment.failure_reason = reason
    attachment.save(update_fields=["processing_status", "failure_reason"])
    Workspace.objects.filter(pk=attachment.workspace_id).update(
        storage_used_bytes=F("storage_used_bytes") - attachment.size_bytes
    )
    record_change(
        entity_type=SyncLog.EntityType.ATTACHMENT, entity_id=attachment.pk, workspace_id=attachment.workspace_id,
        operation=SyncLog.Operation.UPDATE, old=old, new=attachment_sync_data(attachment), actor=actor,
        origin=origin,
    )
    storage.delete_after_commit([attachment.s3_key, attachment.thumbnail_s3_key])


@transaction.atomic
def attachment_reverify(*, attachment: Attachment, actor=None, origin: Origin = COMMAND) -> str | None:
    """HEAD a complete, live attachment's object; when missing or of another size, mark it failed.

    Returns the failure reason, or None when the object is fine (or the row is not complete and live).
    """
    attachment = Attachment.objects.select_for_update().filter(
        pk=attachment.pk, processing_status=Attachment.Status.COMPLETE, deleted_at__isnull=True
    ).first()
    if attachment is None:
        return None
    reason = _object_problem(attachment)
    if reason is not None:
        _fail_complete(attachment, reason=reason, actor=actor, origin=origin)
    return reason


# --- check_storage ---------------------------------------------------------------------------------------

@dataclass
class StorageCheck:
    """What check_storage found: rows without their object, objects without a row, leftovers of deletions."""

    missing: list[tuple[Attachment, str]] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    missing_context_files: list[tuple[ContextFile, str]] = field(default_factory=list)


def _listed_keys(progress: Progress, prefixes: Iterable[str] = PREFIXES) -> set[str]:
    store, keys = storage.backend(), set()
    for prefix in prefixes:
        for key in store.list_keys(prefix):
            keys.add(key)
            if len(keys) % PROGRESS_EVERY == 0:
                progress(f"… {len(keys)} object(s) listed")
    return keys


def storage_check(*, fix: bool = False, progress: Progress = _quiet) -> StorageCheck:
    """Compare the store with the attachment and context-file rows; with `fix`, repair what was found.

    Objects are listed before rows are read: a row always exists before its object is uploaded, so a
    listed object without a row is truly orphaned. A complete row missing from the listing may have been
    confirmed since, so it is HEADed before it counts as missing. A thumbnail is referenced by its row's
    id, as confirm writes it before the row says so.
    """
    listed = _listed_keys(progress)
    listed_context = _listed_keys(progress, (context_file_ops.PREFIX,))
    report, referenced = StorageCheck(), set()
    rows = Attachment.objects.filter(_in_this_store()).order_by("pk")
    for done, row in enumerate(rows.iterator(chunk_size=PROGRESS_EVERY), start=1):
        keys = {row.s3_key, row.thumbnail_s3_key, f"thumbnails/{row.workspace_id}/{row.pk}.webp"} - {""}
        referenced |= keys
        if row.deleted_at is not None:
            report.leftovers.extend(sorted(keys & listed))
        elif row.processing_status == Attachment.Status.COMPLETE and row.s3_key not in listed:
            reason = attachment_reverify(attachment=row) if fix else _object_problem(row)
            if reason is not None:
                report.missing.append((row, reason))
        if done % PROGRESS_EVERY == 0:
            progress(f"… {done} attachment row(s) checked")
    report.missing_context_files, context_orphans = context_file_ops.context_files_check(
        listed=listed_context, fix=fix
    )
    report.orphans = sorted(listed - referenced) + context_orphans
    if fix:
        store = storage.backend()
        for key in [*report.orphans, *report.leftovers]:
            store.delete(key)
    return report


# --- purges ------------------------------------------------------------------------------------------------

@transaction.atomic
def attachments_purge(*, rows: QuerySet[Attachment], actor=None, origin: Origin = COMMAND) -> int:
    """Hard-delete `rows` and, after commit, their objects; returns how many.

    Rows still charged (complete and live, e.g. of a purged document) give their quota back and log a
    sync delete first. Rows another transaction holds (a confirm under way) are left for the next run.
    """
    locked = list(rows.select_for_update(skip_locked=True).order_by("pk"))
    now = timezone.now()
    for attachment in locked:
        if attachment.processing_status != Attachment.Status.COMPLETE or attachment.deleted_at is not None:
            continue
        old = attachment_sync_data(attachment)
        attachment.deleted_at = now
        Workspace.objects.filter(pk=attachment.workspace_id).update(
            storage_used_bytes=F("storage_used_bytes") - attachment.size_bytes
        )
        record_change(
            entity_type=SyncLog.EntityType.ATTACHMENT, entity_id=attachment.pk,
            workspace_id=attachment.workspace_id, operation=SyncLog.Operation.DELETE, old=old,
            new=attachment_sync_data(attachment), actor=actor, origin=origin,
        )
    Attachment.objects.filter(pk__in=[attachment.pk for attachment in locked]).delete()
    storage.delete_after_commit(key for a in locked for key in (a.s3_key, a.thumbnail_s3_key))
    return len(locked)


def attachments_purge_pending(*, dry_run: bool = False) -> int:
    """Delete uploads left unconfirmed for over an hour, objects included; their reservation goes with them."""
    stale = Attachment.objects.filter(processing_status__in=RESERVING, uploaded_at__lt=timezone.now() - PENDING_TTL)
    return stale.count() if dry_run else attachments_purge(rows=stale)


def attachments_purge_trashed(*, cutoff, dry_run: bool = False) -> int:
    """Hard-delete attachments soft-deleted before `cutoff`, with any object a failed deletion left."""
    trashed = Attachment.objects.filter(deleted_at__lt=cutoff)
    return trashed.count() if dry_run else attachments_purge(rows=trashed)
