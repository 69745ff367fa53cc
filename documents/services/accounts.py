"""The documents' part of an account (registered with accounts.parts): what the person wrote and holds."""

from __future__ import annotations

from django.db.models import Prefetch

from documents.models import (
    Comment,
    Document,
    DocumentShare,
    DocumentTag,
    DocumentUserObjectPermission,
    DocumentVersion,
)
from documents.services.comments import comment_sync_data
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


def account_erase(user) -> None:
    """Grants the person holds end with the account (and their guardian permissions); comments stay, unsigned."""
    DocumentUserObjectPermission.objects.filter(user=user).delete()
    DocumentShare.objects.filter(user=user).delete()
