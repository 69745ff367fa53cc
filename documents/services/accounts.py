"""The documents' part of an account (registered with accounts.parts): what the person wrote, for the export."""

from __future__ import annotations

from django.db.models import Prefetch

from documents.models import Document, DocumentTag, DocumentVersion
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
    """`documents` the person created (with content, trash included) and every `versions` of them (SPEC §3.1)."""
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
    }
