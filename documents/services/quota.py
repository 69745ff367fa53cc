"""The workspace storage quota (SPEC §7): what uploads in flight reserve, counted under the workspace row lock."""

from __future__ import annotations

from django.db.models import Max, Sum

from documents.models import Attachment, ContextFile

RESERVING_ATTACHMENTS = (Attachment.Status.PENDING, Attachment.Status.PROCESSING)


def reserved_bytes(workspace_id) -> int:
    """Bytes of uploads not yet confirmed: pending attachments, and each context-file object being uploaded once.

    Call it with the workspace row locked, so the count and the reservation that follows agree.
    """
    attachments = Attachment.objects.filter(
        workspace_id=workspace_id, processing_status__in=RESERVING_ATTACHMENTS, deleted_at__isnull=True
    ).aggregate(total=Sum("size_bytes"))["total"] or 0
    # Rows sharing a key upload the same bytes to the same object: reserve it once.
    context_objects = (
        ContextFile.objects.filter(
            workspace_id=workspace_id, sync_status=ContextFile.SyncStatus.UPLOADING, deleted_at__isnull=True
        )
        .values("s3_key")
        .annotate(size=Max("size_bytes"))
        .values_list("size", flat=True)
    )
    return attachments + sum(context_objects)
