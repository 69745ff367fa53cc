"""Reads of context files (SPEC §3.6): who may see one, and a document's list."""

from __future__ import annotations

from django.db.models import QuerySet

from documents.models import ContextFile, Document
from documents.selectors_attachments import file_access
from mdcreator.errors import NotFoundError
from mdcreator.validation import uuid_or_404


def context_file_get(*, user, context_file_id, share_token: str | None = None) -> ContextFile:
    """A live context file the caller may read, its `access` (on its document, else its workspace) set; 404 otherwise."""
    row = (
        ContextFile.objects.filter(pk=uuid_or_404(context_file_id), deleted_at__isnull=True)
        .select_related("created_by", "document", "workspace")
        .first()
    )
    access = None if row is None else file_access(row, user=user, share_token=share_token)
    read = "list_context_files" if row is not None and row.document_id else "retrieve"
    if access is None or not access.can(read):
        raise NotFoundError("No context file with this id.")
    row.access = access
    return row


def context_file_list(*, document: Document) -> QuerySet[ContextFile]:
    """The document's live context files, oldest first, creator loaded in the same query."""
    return (
        ContextFile.objects.filter(document=document, deleted_at__isnull=True)
        .select_related("created_by")
        .order_by("created_at", "pk")
    )
