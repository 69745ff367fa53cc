"""The documents' part of an account (registered with accounts.parts): what the person wrote and holds."""

from __future__ import annotations

from django.db.models import Prefetch

from documents import storage
from documents.models import (
    Attachment,
    Comment,
    ContextFile,
    Document,
    DocumentShare,
    DocumentTag,
    DocumentUserObjectPermission,
    DocumentVersion,
)
from documents.services.attachments import attachment_sync_data
from documents.services.comments import comment_sync_data
from documents.services.context_files import CONTENT_TYPES, context_file_sync_data
from documents.services.documents import document_sync_data
from mdcreator.timestamps import utc_timestamp_or_none

EXPORT_CHUNK = 200


def _document(document: Document) -> dict:
    """What a sync entry carries for the document, plus its content and dates."""
    return {
        **document_sync_data(document, [row.tag for row in document.tag_rows.all()]),
        "content": document.content,
        "created_at": utc_timestamp_or_none(document.created_at),
        "deleted_at": utc_timestamp_or_none(document.deleted_at),
    }


def _version(version: DocumentVersion) -> dict:
    return {
        "id": str(version.pk),
        "document_id": str(version.document_id),
        "version_number": version.version_number,
        "title": version.title,
        "content": version.content,
        "content_hash": version.content_hash,
        "source": version.source,
        "change_description": version.change_description,
        "restored_from": version.restored_from,
        "created_by_id": str(version.created_by_id),
        "created_at": utc_timestamp_or_none(version.created_at),
    }


def account_export(user) -> dict:
    """`documents` the person created (with content, trash included), their `versions`, comments and grants."""
    documents = (
        Document.objects.filter(created_by=user)
        .defer("search_vector")
        .prefetch_related(Prefetch("tag_rows", queryset=DocumentTag.objects.order_by("pk")))
        .order_by("created_at", "pk")
    )
    versions = DocumentVersion.objects.filter(document__created_by=user).order_by("document_id", "version_number")
    return {
        "documents": [_document(document) for document in documents.iterator(chunk_size=EXPORT_CHUNK)],
        "versions": [_version(version) for version in versions.iterator(chunk_size=EXPORT_CHUNK)],
        **account_export_discussions(user),
        **account_export_files(user),
    }


def _comment(comment: Comment) -> dict:
    """What a sync entry carries for the comment, plus its edit history and dates."""
    return {
        **comment_sync_data(comment),
        "edit_history": comment.edit_history,
        "created_at": utc_timestamp_or_none(comment.created_at),
        "updated_at": utc_timestamp_or_none(comment.updated_at),
    }


def _grant(share: DocumentShare) -> dict:
    return {
        "id": str(share.pk),
        "document_id": str(share.document_id),
        "role": share.role,
        "status": share.status,
        "granted_at": utc_timestamp_or_none(share.granted_at),
        "expires_at": utc_timestamp_or_none(share.expires_at),
    }


def account_export_discussions(user) -> dict:
    """`comments` the person wrote and the document `grants` they hold or held (SPEC §3.1)."""
    comments = Comment.objects.filter(author=user).order_by("created_at", "pk")
    grants = DocumentShare.objects.filter(user=user).order_by("granted_at", "pk")
    return {
        "comments": [_comment(comment) for comment in comments.iterator(chunk_size=EXPORT_CHUNK)],
        "grants": [_grant(share) for share in grants],
    }


def _attachment(attachment: Attachment, store) -> dict:
    """The attachment's sync form, its original name and dates, and a 1-hour link while its object is kept."""
    url = None
    if attachment.processing_status == Attachment.Status.COMPLETE and attachment.deleted_at is None:
        url = store.download_url(
            attachment.s3_key, file_name=attachment.file_name, content_type=attachment.content_type,
            as_attachment=not attachment.content_type.startswith("image/"), expires=storage.EXPORT_DOWNLOAD_EXPIRES,
        )
    return {
        **attachment_sync_data(attachment),
        "original_name": attachment.original_name,
        "confirmed_at": utc_timestamp_or_none(attachment.confirmed_at),
        "download_count": attachment.download_count,
        "last_accessed_at": utc_timestamp_or_none(attachment.last_accessed_at),
        "download_url": url,
    }


def _context_file(row: ContextFile, store) -> dict:
    """The context file's sync form and a 1-hour link while its verified object is kept (none for local files)."""
    url = None
    if row.sync_status == ContextFile.SyncStatus.SYNCED and row.s3_key and row.deleted_at is None:
        url = store.download_url(
            row.s3_key, file_name=row.file_name, content_type=CONTENT_TYPES[row.file_type], as_attachment=True,
            expires=storage.EXPORT_DOWNLOAD_EXPIRES,
        )
    return {
        **context_file_sync_data(row),
        "access_count": row.access_count,
        "last_accessed_at": utc_timestamp_or_none(row.last_accessed_at),
        "download_url": url,
    }


def account_export_files(user) -> dict:
    """Metadata of the `attachments` the person uploaded and the `context_files` they added (deleted ones
    included, without a link), each stored one with a download URL valid 1 hour (SPEC §3.1)."""
    store = storage.backend()
    attachments = Attachment.objects.filter(uploaded_by=user).order_by("uploaded_at", "pk")
    context_files = ContextFile.objects.filter(created_by=user).order_by("created_at", "pk")
    return {
        "attachments": [_attachment(row, store) for row in attachments.iterator(chunk_size=EXPORT_CHUNK)],
        "context_files": [_context_file(row, store) for row in context_files.iterator(chunk_size=EXPORT_CHUNK)],
    }


def account_erase(user) -> None:
    """Grants the person holds end with the account (and their guardian permissions); comments stay, unsigned."""
    DocumentUserObjectPermission.objects.filter(user=user).delete()
    DocumentShare.objects.filter(user=user).delete()
