"""Attachments: presign, confirm, delete (SPEC §3.6, §7).

Quota is reserved at presign (pending rows count against the limit) and charged at confirm,
both under the workspace row lock. Objects are deleted after commit, so a rolled-back
transaction never loses a file it still references.
"""

from __future__ import annotations

import io
import struct
import unicodedata
import uuid
import warnings

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image

from documents import storage
from documents.errors import StorageQuotaExceededError, UploadVerificationFailedError
from documents.models import Attachment
from documents.services.quota import RESERVING, reserved_bytes
from mdcreator.errors import PayloadTooLargeError, UnsupportedMediaTypeError
from mdcreator.timestamps import utc_timestamp, utc_timestamp_or_none
from sync.models import SyncLog
from sync.origin import REST, Origin
from sync.services import record_change
from workspaces.models import Workspace

MAX_SIZE = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000
# What Pillow raises on hostile or broken input (UnidentifiedImageError is an OSError): each means "not a
# usable image", a 400, never a 500. Anything else is a bug and surfaces as one.
UNREADABLE_IMAGE = (
    OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError, Image.DecompressionBombWarning,
)
THUMBNAIL_EDGE = 320
IMAGE_MAGIC = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),  # + "WEBP" at offset 8, checked below
}
PILLOW_FORMAT = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WEBP"}
ALLOWED_TYPES = frozenset({
    *IMAGE_MAGIC, "application/pdf", "text/plain", "text/markdown", "text/csv", "application/json",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
})


def sanitize_file_name(name: str) -> str:
    """A name safe as the last segment of a key: no path separators or control characters, ≤ 255 chars."""
    cleaned = "".join(
        "_" if ch in "/\\" or unicodedata.category(ch).startswith("C") else ch for ch in name
    ).strip().lstrip(".")
    if not cleaned:
        return "file"
    if len(cleaned) > 255:
        stem, dot, ext = cleaned.rpartition(".")
        cleaned = f"{stem[: 254 - len(ext)]}.{ext}" if dot and len(ext) < 20 else cleaned[:255]
    return cleaned


def attachment_sync_data(attachment: Attachment) -> dict:
    """What a sync entry carries for an attachment (no URLs: they expire)."""
    return {
        "id": str(attachment.pk),
        "workspace_id": str(attachment.workspace_id),
        "document_id": str(attachment.document_id) if attachment.document_id else None,
        "file_name": attachment.file_name,
        "content_type": attachment.content_type,
        "size_bytes": attachment.size_bytes,
        "processing_status": attachment.processing_status,
        "metadata": attachment.metadata,
        "uploaded_by": str(attachment.uploaded_by_id),
        "uploaded_at": utc_timestamp(attachment.uploaded_at),
        "deleted_at": utc_timestamp_or_none(attachment.deleted_at),
    }


def _check_announced(*, content_type: str, size_bytes: int) -> None:
    if content_type not in ALLOWED_TYPES:
        raise UnsupportedMediaTypeError(f"Files of type {content_type!r} cannot be attached.")
    if size_bytes > MAX_SIZE:
        raise PayloadTooLargeError(f"Attachments are limited to {MAX_SIZE} bytes.")


@transaction.atomic
def attachment_presign(
    *, actor, workspace: Workspace, document=None, file_name: str, content_type: str, size_bytes: int
) -> tuple[Attachment, str, dict]:
    """Reserve quota, create the pending attachment and return it with the upload form (url, fields).

    The caller has checked the edit ability; the workspace row is locked while the quota is counted.
    """
    _check_announced(content_type=content_type, size_bytes=size_bytes)
    locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if locked.storage_used_bytes + reserved_bytes(locked.pk) + size_bytes > locked.storage_limit_bytes:
        raise StorageQuotaExceededError()
    store = storage.backend()
    attachment_id = uuid.uuid4()
    name = sanitize_file_name(file_name)
    attachment = Attachment.objects.create(
        id=attachment_id, workspace=locked, document=document, file_name=name, original_name=file_name[:500],
        content_type=content_type, size_bytes=size_bytes, storage_backend=store.name, s3_bucket=store.bucket,
        s3_key=f"attachments/{locked.pk}/{attachment_id}/{name}", s3_region=store.region, uploaded_by=actor,
    )
    url, fields = store.presigned_post(key=attachment.s3_key, content_type=content_type, size=size_bytes)
    return attachment, url, fields


def attachment_confirm(*, actor, attachment: Attachment) -> Attachment:
    """Verify the uploaded object and complete the attachment; 400 `upload-verification-failed` otherwise.

    A second call answers as the first did: the stored outcome, success or failure.
    """
    attachment = _confirm(attachment_id=attachment.pk, actor=actor)
    if attachment.processing_status == Attachment.Status.FAILED:
        raise UploadVerificationFailedError(attachment.failure_reason)
    return attachment


@transaction.atomic
def _confirm(*, attachment_id, actor) -> Attachment:
    """Verify under the attachment's row lock; the failed state commits before the caller raises."""
    attachment = Attachment.objects.select_for_update().select_related("uploaded_by").get(pk=attachment_id)
    if attachment.processing_status not in RESERVING:
        return attachment
    store = storage.backend()
    try:
        metadata, thumbnail = _verify(store, attachment)
    except UploadVerificationFailedError as failure:
        return _fail(store, attachment, failure.detail)
    if thumbnail is not None:  # written before the workspace is locked: no store I/O holds up its other writers
        attachment.thumbnail_s3_key = f"thumbnails/{attachment.workspace_id}/{attachment.pk}.webp"
        store.put(attachment.thumbnail_s3_key, thumbnail, "image/webp")
    workspace = Workspace.objects.select_for_update().get(pk=attachment.workspace_id)
    if workspace.storage_used_bytes + attachment.size_bytes > workspace.storage_limit_bytes:
        return _fail(store, attachment, "The workspace's storage limit was reached before this upload was confirmed.")
    Workspace.objects.filter(pk=workspace.pk).update(storage_used_bytes=F("storage_used_bytes") + attachment.size_bytes)
    attachment.metadata = metadata
    attachment.processing_status = Attachment.Status.COMPLETE
    attachment.confirmed_at = timezone.now()
    attachment.cdn_url = store.cdn_address(attachment.s3_key)
    attachment.save(update_fields=["metadata", "processing_status", "confirmed_at", "thumbnail_s3_key", "cdn_url"])
    record_change(
        entity_type=SyncLog.EntityType.ATTACHMENT, entity_id=attachment.pk, workspace_id=attachment.workspace_id,
        operation=SyncLog.Operation.CREATE, old=None, new=attachment_sync_data(attachment), actor=actor, origin=REST,
    )
    return attachment


def _fail(store, attachment: Attachment, reason: str) -> Attachment:
    """Record the failure and delete the uploaded object once that is committed."""
    attachment.processing_status = Attachment.Status.FAILED
    attachment.failure_reason = reason
    attachment.save(update_fields=["processing_status", "failure_reason"])
    storage.delete_after_commit([key for key in (attachment.s3_key, attachment.thumbnail_s3_key) if key], store)
    return attachment


def _verify(store, attachment: Attachment) -> tuple[dict, bytes | None]:
    """HEAD the object (size, type), and for images the bytes: `(metadata, thumbnail WebP or None)`."""
    found = store.head(attachment.s3_key)
    if found is None:
        raise UploadVerificationFailedError("No object was uploaded.")
    if found.size != attachment.size_bytes:
        raise UploadVerificationFailedError(f"The object has {found.size} bytes, {attachment.size_bytes} were announced.")
    if found.content_type is not None and found.content_type != attachment.content_type:
        raise UploadVerificationFailedError("The object's content type differs from the announced one.")
    if attachment.content_type not in IMAGE_MAGIC:
        return {}, None
    try:
        data = store.read(attachment.s3_key)
    except FileNotFoundError:  # deleted between HEAD and GET
        raise UploadVerificationFailedError("No object was uploaded.") from None
    return _inspect_image(data, attachment.content_type)


def _has_magic(data: bytes, content_type: str) -> bool:
    if not data.startswith(IMAGE_MAGIC[content_type]):
        return False
    return content_type != "image/webp" or data[8:12] == b"WEBP"


def _inspect_image(data: bytes, content_type: str) -> tuple[dict, bytes]:
    """Width, height and format of an image, and its 320 px WebP thumbnail; bombs and broken files fail."""
    if not _has_magic(data, content_type):
        raise UploadVerificationFailedError("The file's content does not match its declared type.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height, image_format = image.width, image.height, image.format
                if width * height > MAX_PIXELS:
                    raise UploadVerificationFailedError(f"Images are limited to {MAX_PIXELS} pixels.")
                image.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                thumbnail = _thumbnail(image)
    except UNREADABLE_IMAGE as error:
        raise UploadVerificationFailedError(f"The image cannot be read ({type(error).__name__}).") from None
    if image_format != PILLOW_FORMAT[content_type]:
        raise UploadVerificationFailedError("The file's content does not match its declared type.")
    return {"width": width, "height": height, "format": image_format}, thumbnail


def _thumbnail(image: Image.Image) -> bytes:
    image.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "transparency" in image.info or image.mode in ("LA", "PA") else "RGB")
    out = io.BytesIO()
    image.save(out, format="WEBP", quality=80)
    return out.getvalue()


@transaction.atomic
def attachment_delete(*, actor, attachment: Attachment, origin: Origin = REST) -> None:
    """Soft-delete, give the quota back when it was charged, delete object and thumbnail after commit."""
    attachment = Attachment.objects.select_for_update().get(pk=attachment.pk, deleted_at__isnull=True)
    old = attachment_sync_data(attachment)
    attachment.deleted_at = timezone.now()
    attachment.save(update_fields=["deleted_at"])
    if attachment.processing_status == Attachment.Status.COMPLETE:
        Workspace.objects.filter(pk=attachment.workspace_id).update(
            storage_used_bytes=F("storage_used_bytes") - attachment.size_bytes
        )
        record_change(
            entity_type=SyncLog.EntityType.ATTACHMENT, entity_id=attachment.pk, workspace_id=attachment.workspace_id,
            operation=SyncLog.Operation.DELETE, old=old, new=attachment_sync_data(attachment), actor=actor,
            origin=origin,
        )
    storage.delete_after_commit([attachment.s3_key, attachment.thumbnail_s3_key])


def attachment_record_access(*, attachment: Attachment) -> None:
    """Count a read of the attachment: one UPDATE (F-expression, no read-modify-write); no sync entry."""
    Attachment.objects.filter(pk=attachment.pk).update(
        download_count=F("download_count") + 1, last_accessed_at=timezone.now()
    )
