"""Context files: add, confirm, delete (SPEC §3.6, §7, decision 34).

Rows of `s3`/`hybrid` files with the same sha256 in a workspace share one object,
`context-files/{workspace_id}/{content_hash}`. Whether an object is still named by a row, and
whether its quota is already charged, is decided under the workspace row lock, so concurrent
adds, confirms and deletes see each other. Objects are deleted after commit.

Clients never write the shared object: each row's form uploads to a key of its own (`staging_key`), and
confirm reads those bytes once, checks their size and sha256, and the server writes the shared object from
the bytes it checked. Another member posting other bytes under the same hash can therefore never replace
an object others already read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from documents import storage
from documents.errors import StorageQuotaExceededError, UploadVerificationFailedError
from documents.models import ContextFile, Document
from documents.services.attachments import sanitize_file_name
from documents.services.quota import reserved_bytes
from mdcreator.errors import PayloadTooLargeError, UnsupportedMediaTypeError
from mdcreator.timestamps import utc_timestamp, utc_timestamp_or_none
from sync.models import SyncLog
from sync.origin import REST, Origin
from sync.services import record_change
from workspaces.models import Workspace

MAX_SIZE = 10 * 1024 * 1024
CONTENT_TYPES = {
    "md": "text/markdown",
    "txt": "text/plain",
    "csv": "text/csv",
    "json": "application/json",
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
Status = ContextFile.SyncStatus
NOT_UPLOADED = "No object was uploaded."


@dataclass(frozen=True)
class Upload:
    """The form the client posts the bytes with."""

    url: str
    fields: dict


def context_file_sync_data(context_file: ContextFile) -> dict:
    """What a sync entry carries for a context file (no URLs: they expire; no device path: never sent)."""
    return {
        "id": str(context_file.pk),
        "workspace_id": str(context_file.workspace_id),
        "document_id": str(context_file.document_id) if context_file.document_id else None,
        "file_name": context_file.file_name,
        "file_type": context_file.file_type,
        "size_bytes": context_file.size_bytes,
        "storage_mode": context_file.storage_mode,
        "content_hash": context_file.content_hash,
        "sync_status": context_file.sync_status,
        "metadata": context_file.metadata,
        "created_by": str(context_file.created_by_id),
        "created_at": utc_timestamp(context_file.created_at),
        "last_synced_at": utc_timestamp_or_none(context_file.last_synced_at),
        "deleted_at": utc_timestamp_or_none(context_file.deleted_at),
    }


def record(context_file: ContextFile, operation: str, *, old: dict | None, actor, origin: Origin = REST) -> None:
    """The sync entry of a context-file change."""
    record_change(
        entity_type=SyncLog.EntityType.CONTEXT_FILE, entity_id=context_file.pk, workspace_id=context_file.workspace_id,
        operation=operation, old=old, new=context_file_sync_data(context_file), actor=actor, origin=origin,
    )


def staging_key(context_file: ContextFile) -> str:
    """Where the row's own upload form puts its bytes, until confirm checked them."""
    return f"context-files/{context_file.workspace_id}/uploads/{context_file.pk}"


def verified_bytes(store, key: str, *, size: int, content_hash: str) -> tuple[bytes | None, str]:
    """The object's bytes when they are `size` long with that sha256: `(bytes, "")`, else `(None, reason)`."""
    found = store.head(key)
    if found is None:
        return None, NOT_UPLOADED
    if found.size != size:
        return None, f"The object has {found.size} bytes, {size} were announced."
    try:
        data = store.read(key)
    except FileNotFoundError:  # deleted between HEAD and GET
        return None, NOT_UPLOADED
    if len(data) != size or hashlib.sha256(data).hexdigest() != content_hash:
        return None, "The object's sha256 differs from the announced content_hash."
    return data, ""


def live_with_key(workspace_id, key: str):
    """The live rows of a workspace naming one stored object."""
    return ContextFile.objects.filter(workspace_id=workspace_id, s3_key=key, deleted_at__isnull=True)


def _unique_name(document: Document | None, name: str, content_hash: str) -> str:
    """`name`, or `name (2).ext`, `(3)`… when a live file of the document has that name and other bytes."""
    if document is None:
        return name
    taken = set(
        ContextFile.objects.filter(document=document, deleted_at__isnull=True)
        .exclude(content_hash=content_hash)
        .values_list("file_name", flat=True)
    )
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        stem, ext = name, ""
    number, candidate = 1, name
    while candidate in taken:
        number += 1
        candidate = f"{stem} ({number}).{ext}" if ext else f"{stem} ({number})"
    return candidate


@transaction.atomic
def context_file_create(
    *, actor, document: Document, file_name: str, file_type: str, size_bytes: int, content_hash: str,
    storage_mode: str, metadata: dict,
) -> tuple[ContextFile, bool, Upload | None]:
    """Add a context file to the document: `(row, deduplicated, upload form or None)`.

    The caller has checked the `add_context_file` ability and that `content_hash` is 64 lowercase hex.
    `local` stores metadata only; otherwise the bytes are reused when the workspace already stores
    them (decision 34: only synced rows count), else quota is reserved and an upload form returned.
    """
    if file_type not in CONTENT_TYPES:
        raise UnsupportedMediaTypeError(f"Context files of type {file_type!r} are not supported.")
    if size_bytes > MAX_SIZE:
        raise PayloadTooLargeError(f"Context files are limited to {MAX_SIZE} bytes.")
    workspace = Workspace.objects.select_for_update().get(pk=document.workspace_id)
    row = ContextFile(
        workspace=workspace, document=document, file_type=file_type, size_bytes=size_bytes,
        content_hash=content_hash, storage_mode=storage_mode, metadata=metadata, created_by=actor,
        file_name=_unique_name(document, sanitize_file_name(file_name), content_hash),
    )
    upload, deduplicated = None, False
    if storage_mode == ContextFile.StorageMode.LOCAL:
        row.sync_status = Status.LOCAL_ONLY
    else:
        row.s3_key = f"context-files/{workspace.pk}/{content_hash}"
        stored = live_with_key(workspace.pk, row.s3_key).filter(sync_status=Status.SYNCED).first()
        if stored is not None:
            # The object exists and is charged already: this row only names it.
            row.size_bytes, row.s3_etag = stored.size_bytes, stored.s3_etag
            row.sync_status, row.last_synced_at, deduplicated = Status.SYNCED, timezone.now(), True
        else:
            if workspace.storage_used_bytes + reserved_bytes(workspace.pk) + size_bytes > workspace.storage_limit_bytes:
                raise StorageQuotaExceededError()
            row.sync_status = Status.UPLOADING
            url, fields = storage.backend().presigned_post(
                key=staging_key(row), content_type=CONTENT_TYPES[file_type], size=size_bytes
            )
            upload = Upload(url=url, fields=fields)
    row.save()
    record(row, SyncLog.Operation.CREATE, old=None, actor=actor)
    return row, deduplicated, upload


def context_file_confirm(*, actor, context_file: ContextFile) -> ContextFile:
    """Verify the uploaded bytes (size and sha256) and mark the file synced; 400 `upload-verification-failed` else.

    The caller has checked the actor created the row. Rows already synced or local come back unchanged.
    The upload is read and checked before any lock is taken.
    """
    data, failure = None, ""
    if context_file.sync_status not in (Status.SYNCED, Status.LOCAL_ONLY) and context_file.s3_key:
        data, failure = verified_bytes(storage.backend(), staging_key(context_file),
                                       size=context_file.size_bytes, content_hash=context_file.content_hash)
    context_file, failure = _confirm(context_file_id=context_file.pk, actor=actor, data=data, failure=failure)
    if failure:
        raise UploadVerificationFailedError(failure)
    return context_file


@transaction.atomic
def _confirm(*, context_file_id, actor, data: bytes | None, failure: str) -> tuple[ContextFile, str]:
    """Record the verdict under the row and workspace locks: `(row, failure reason or "")`; a failure commits too.

    The shared object is written from the checked bytes only when no synced row names it yet (it would hold
    the same bytes): under the workspace lock, so a concurrent delete of its last row cannot interleave.
    """
    row = ContextFile.objects.select_for_update().select_related("created_by").get(
        pk=context_file_id, deleted_at__isnull=True
    )
    if row.sync_status in (Status.SYNCED, Status.LOCAL_ONLY):
        return row, ""
    workspace = Workspace.objects.select_for_update().get(pk=row.workspace_id)
    store = storage.backend()
    old = context_file_sync_data(row)
    is_charged = live_with_key(workspace.pk, row.s3_key).exclude(pk=row.pk).filter(sync_status=Status.SYNCED).exists()
    if failure == NOT_UPLOADED and is_charged:
        failure = ""  # confirmed by another row meanwhile: the shared object already holds these bytes
    if not failure and not is_charged and (
        workspace.storage_used_bytes + row.size_bytes > workspace.storage_limit_bytes
    ):
        failure = "The workspace's storage limit was reached before this upload was confirmed."
    if failure:
        row.sync_status = Status.PENDING  # it reserves nothing now
    else:
        if not is_charged:  # the first confirmed row of this object stores it and pays for it
            store.put(row.s3_key, data, CONTENT_TYPES[row.file_type])
            Workspace.objects.filter(pk=workspace.pk).update(storage_used_bytes=F("storage_used_bytes") + row.size_bytes)
        row.sync_status, row.last_synced_at = Status.SYNCED, timezone.now()
        row.s3_etag = (store.head(row.s3_key) or storage.StoredObject(0, None)).etag
    storage.delete_after_commit([staging_key(row)], store)
    row.save(update_fields=["sync_status", "last_synced_at", "s3_etag", "updated_at"])
    record(row, SyncLog.Operation.UPDATE, old=old, actor=actor)
    return row, failure


@transaction.atomic
def context_file_delete(*, actor, context_file: ContextFile, origin: Origin = REST) -> None:
    """Soft-delete; the quota goes back with the object's last synced row, the object with its last row.

    The caller has checked the delete ability (§2.3).
    """
    row = ContextFile.objects.select_for_update().get(pk=context_file.pk, deleted_at__isnull=True)
    workspace = Workspace.objects.select_for_update().get(pk=row.workspace_id)
    old = context_file_sync_data(row)
    row.deleted_at = timezone.now()
    row.save(update_fields=["deleted_at", "updated_at"])
    if row.s3_key:
        others = live_with_key(workspace.pk, row.s3_key)
        if row.sync_status == Status.SYNCED and not others.filter(sync_status=Status.SYNCED).exists():
            Workspace.objects.filter(pk=workspace.pk).update(storage_used_bytes=F("storage_used_bytes") - row.size_bytes)
        keys = [] if others.exists() else [row.s3_key]
        if row.sync_status != Status.SYNCED:
            keys.append(staging_key(row))  # an upload never confirmed
        storage.delete_after_commit(keys)
    record(row, SyncLog.Operation.DELETE, old=old, actor=actor, origin=origin)


def context_file_record_access(*, context_file: ContextFile) -> None:
    """Count a read of the context file: one UPDATE (F-expression, `updated_at` untouched); no sync entry."""
    ContextFile.objects.filter(pk=context_file.pk).update(
        access_count=F("access_count") + 1, last_accessed_at=timezone.now()
    )
