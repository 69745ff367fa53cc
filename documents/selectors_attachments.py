"""Reads of attachments (SPEC §3.6): who may see one, and a document's page of them."""

from __future__ import annotations

from django.db.models import QuerySet

from documents.models import Attachment, Document
from mdcreator.errors import NotFoundError
from mdcreator.validation import uuid_or_404
from workspaces.access import resolve


def attachment_get(*, user, attachment_id, share_token: str | None = None) -> Attachment:
    """A live attachment the caller may read, its `access` (on its document, else its workspace) set; 404 otherwise."""
    attachment = (
        Attachment.objects.filter(pk=uuid_or_404(attachment_id), deleted_at__isnull=True)
        .select_related("uploaded_by", "document", "workspace")
        .first()
    )
    access = None if attachment is None else file_access(attachment, user=user, share_token=share_token)
    if access is None:
        raise NotFoundError("No attachment with this id.")
    attachment.access = access
    return attachment


def file_access(row, *, user, share_token: str | None):
    """The caller's access to a stored file (attachment, context file): on its document, else its workspace.

    None when the caller has none or that document or workspace is deleted; `row` has both loaded.
    """
    scope = row.document if row.document_id else row.workspace
    hidden = scope.deleted if row.document_id else scope.deleted_at is not None
    return None if hidden else resolve(user, scope, share_token)


def attachment_list(*, document: Document) -> QuerySet[Attachment]:
    """The document's completed, live attachments, newest first, uploader loaded in the same query."""
    return (
        Attachment.objects.filter(
            document=document, deleted_at__isnull=True, processing_status=Attachment.Status.COMPLETE
        )
        .select_related("uploaded_by")
        .order_by("-uploaded_at", "pk")
    )
