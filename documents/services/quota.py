"""The workspace storage quota (SPEC §7): what stored objects charge, and what uploads in flight reserve.

Both count attachments by size and context-file objects once each (rows sharing a key share one object).
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Max, Sum

from documents.models import Attachment, ContextFile

RESERVING = (Attachment.Status.PENDING, Attachment.Status.PROCESSING)
# How long an unconfirmed upload may reserve quota before purge_expired deletes it.
PENDING_TTL = timedelta(hours=1)


def _bytes(workspace_id, *, attachment_statuses, context_status) -> int:
    attachments = Attachment.objects.filter(
        workspace_id=workspace_id, processing_status__in=attachment_statuses, deleted_at__isnull=True
    ).aggregate(total=Sum("size_bytes"))["total"] or 0
    context_objects = (
        ContextFile.objects.filter(
            workspace_id=workspace_id, sync_status=context_status, deleted_at__isnull=True, s3_key__isnull=False
        )
        .values("s3_key")
        .annotate(size=Max("size_bytes"))
        .values_list("size", flat=True)
    )
    return attachments + sum(context_objects)


def reserved_bytes(workspace_id) -> int:
    """Bytes of uploads not yet confirmed: pending attachments, and each context-file object being uploaded once.

    Call it with the workspace row locked, so the count and the reservation that follows agree.
    """
    return _bytes(workspace_id, attachment_statuses=RESERVING, context_status=ContextFile.SyncStatus.UPLOADING)


def storage_used(*, workspace_id) -> int:
    """What the workspace's stored objects charge to its quota (registered with workspaces.contents):
    complete, live attachments, and each object of live synced context files once (as their confirm
    and delete charge it)."""
    return _bytes(
        workspace_id, attachment_statuses=(Attachment.Status.COMPLETE,), context_status=ContextFile.SyncStatus.SYNCED
    )
