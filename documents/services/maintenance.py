"""Operator maintenance: purge the trash, prune old versions, rebuild search vectors (SPEC §8)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from documents.models import Attachment, Document, DocumentTag, DocumentVersion, Folder
from documents.services.search_index import search_index_refresh
from documents.services.storage_ops import attachments_purge, attachments_purge_trashed
from sync.origin import ADMIN, Origin

BATCH = 500


@transaction.atomic
def document_purge(*, document: Document, actor=None, origin: Origin = ADMIN) -> None:
    """Hard-delete a tombstoned document with its versions, tags and attachments (objects included);
    its sync entries stay."""
    doomed = Document.objects.filter(pk=document.pk, deleted=True)
    # The rows would cascade anyway; purging them first deletes their objects and gives quota back.
    attachments_purge(rows=Attachment.objects.filter(document__in=doomed), actor=actor, origin=origin)
    doomed.delete()


def tombstones_purge(*, older_than_days: int, dry_run: bool = False) -> dict[str, int]:
    """Hard-delete documents, folders and attachments tombstoned more than `older_than_days` ago,
    with the stored objects of those attachments and of the purged documents' attachments."""
    cutoff = timezone.now() - timedelta(days=older_than_days)
    documents = Document.objects.filter(deleted=True, deleted_at__lt=cutoff)
    folders = Folder.objects.filter(deleted_at__lt=cutoff)
    counts = {"documents": documents.count(), "folders": folders.count()}
    if dry_run:
        counts["attachments"] = attachments_purge_trashed(cutoff=cutoff, dry_run=True)
        return counts
    with transaction.atomic():
        counts["attachments"] = attachments_purge_trashed(cutoff=cutoff)
        attachments_purge(rows=Attachment.objects.filter(document__in=documents))
        documents.delete()
        # Children first is not needed: parent links cascade within the doomed set.
        folders.delete()
    return counts


def _prunable(cutoff):
    """Auto versions older than `cutoff` that are not the last auto version of their document and day."""
    day_latest = (
        DocumentVersion.objects.filter(
            document=OuterRef("document"), source=DocumentVersion.Source.AUTO, created_at__lt=cutoff
        )
        .annotate(day=TruncDate("created_at"))
        .filter(day=OuterRef("day"))
        .order_by()
        .values("document")
        .annotate(top=Max("version_number"))
        .values("top")
    )
    return (
        DocumentVersion.objects.filter(source=DocumentVersion.Source.AUTO, created_at__lt=cutoff)
        .annotate(day=TruncDate("created_at"))
        .exclude(version_number=Subquery(day_latest))
    )


def versions_prune(*, keep_days: int, dry_run: bool = False) -> int:
    """Beyond `keep_days`, keep manual and restore versions and one auto version per document per day."""
    cutoff = timezone.now() - timedelta(days=keep_days)
    ids = list(_prunable(cutoff).values_list("pk", flat=True))
    if not dry_run:
        for start in range(0, len(ids), BATCH):
            DocumentVersion.objects.filter(pk__in=ids[start : start + BATCH]).delete()
    return len(ids)


def search_reindex(*, workspace_id=None) -> int:
    """Recompute the search vector of every document (of one workspace); returns how many."""
    if not settings.IS_POSTGRES:
        return 0
    documents = Document.objects.order_by("pk")
    if workspace_id is not None:
        documents = documents.filter(workspace_id=workspace_id)
    count = 0
    for document_id in documents.values_list("pk", flat=True).iterator(chunk_size=BATCH):
        tags = list(DocumentTag.objects.filter(document_id=document_id).order_by("pk").values_list("tag", flat=True))
        with transaction.atomic():
            search_index_refresh(document_id=document_id, tags=tags)
        count += 1
    return count
