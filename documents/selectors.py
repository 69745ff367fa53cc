"""Reads of documents, versions and folders, scoped in SQL to what the caller may see."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Count, Exists, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, Lower

from documents.cursors import decode_cursor, encode_cursor
from documents.models import Document, DocumentStar, DocumentTag, DocumentVersion, Folder
from documents.search import index_driven, text_filter
from mdcreator.errors import NotFoundError
from workspaces.access import Access, active_memberships, resolve

SORT_FIELDS = {"updated_at": "updated_at", "created_at": "created_at", "title": "title"}


def _version_count():
    counts = (
        DocumentVersion.objects.filter(document=OuterRef("pk"))
        .order_by()
        .values("document")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))


def with_summary_fields(documents: QuerySet[Document], *, user) -> QuerySet[Document]:
    """Everything a DocSummary needs, in a constant number of queries whatever the page size."""
    return (
        documents.select_related("created_by", "updated_by")
        .defer("search_vector")
        .annotate(
            is_starred=Exists(DocumentStar.objects.filter(document=OuterRef("pk"), user=user)),
            version_count=_version_count(),
            comment_count=Value(0, output_field=IntegerField()),
        )
        .prefetch_related(Prefetch("tag_rows", queryset=DocumentTag.objects.order_by("pk")))
    )


def document_get(*, user, document_id, include_deleted: bool = False) -> tuple[Document, Access]:
    """A document the caller may read, with the caller's access (from the resolver); 404 for anything else."""
    try:
        document_id = uuid.UUID(str(document_id))
    except ValueError:
        raise NotFoundError() from None
    documents = Document.objects.filter(pk=document_id)
    if not include_deleted:
        documents = documents.filter(deleted=False)
    document = with_summary_fields(documents, user=user).first()
    access = resolve(user, document) if document is not None else None
    if access is None:
        raise NotFoundError("No document with this id.")
    document.access = access
    return document, access


@dataclass(frozen=True)
class ListFilters:
    """The filters and sort of `GET workspaces/{wid}/documents`, validated."""

    limit: int = 50
    cursor: str | None = None
    type: str | None = None
    tags: tuple[str, ...] = ()
    folder_id: uuid.UUID | None = None
    starred: bool | None = None
    search: str | None = None
    sort: str = "updated_at"
    order: str = "desc"
    deleted: bool = False


def _filtered(workspace, user, filters: ListFilters) -> QuerySet[Document]:
    documents = Document.objects.filter(workspace=workspace, deleted=filters.deleted)
    if filters.type:
        documents = documents.filter(type=filters.type)
    if filters.folder_id:
        documents = documents.filter(folder_id=filters.folder_id)
    if filters.tags:
        wanted = [tag.lower() for tag in filters.tags]
        tagged = DocumentTag.objects.annotate(lowered=Lower("tag")).filter(document=OuterRef("pk"), lowered__in=wanted)
        documents = documents.filter(Exists(tagged))
    if filters.starred is not None:
        starred = Exists(DocumentStar.objects.filter(document=OuterRef("pk"), user=user))
        documents = documents.filter(starred if filters.starred else ~starred)
    if filters.search:
        documents = documents.filter(text_filter(filters.search))
    return documents


def _after(documents: QuerySet[Document], filters: ListFilters, payload: dict) -> QuerySet[Document]:
    """Rows strictly after the cursor's (sort value, id) in the requested order."""
    field = SORT_FIELDS[filters.sort]
    value = payload["v"]
    beyond, bound = ("lt", "lte") if filters.order == "desc" else ("gt", "gte")
    after = Q(**{f"{field}__{beyond}": value}) | Q(**{field: value, f"id__{beyond}": payload["id"]})
    # The OR alone is no index condition, so a deep cursor read every row before it; the
    # redundant bound lets the (workspace, deleted, <sort field>) index start at the cursor.
    return documents.filter(Q(**{f"{field}__{bound}": value}), after)


def document_list(*, user, workspace, filters: ListFilters) -> tuple[list[Document], str | None, bool, int]:
    """One page of a workspace's documents: rows, next cursor, has_more, total."""
    documents = _filtered(workspace, user, filters)
    total = _total(documents, workspace, filters)
    field = SORT_FIELDS[filters.sort]
    prefix = "-" if filters.order == "desc" else ""
    page = documents.order_by(f"{prefix}{field}", f"{prefix}id")
    if filters.cursor:
        page = _after(page, filters, decode_cursor(filters.cursor, sort=filters.sort, order=filters.order))
    rows = list(with_summary_fields(page, user=user).defer("content")[: filters.limit + 1])
    has_more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    cursor = _cursor_after(rows[-1], filters) if has_more else None
    return rows, cursor, has_more, total


TOTAL_CACHE_SECONDS = 600


def _total(documents: QuerySet[Document], workspace, filters: ListFilters) -> int:
    """How many documents the filters select, kept while the workspace's sync seq stays the same.

    Every change to a document's title, content, tags, folder or trash state moves the seq
    (SPEC §4), so the next pages of a list, which share its filters, count nothing again.
    Stars move no seq, nor does purging the trash: those lists are always counted.
    """
    if filters.starred is not None or filters.deleted:
        return documents.count()
    signature = [str(workspace.pk), workspace.sync_seq, filters.type, sorted(filters.tags)]
    signature += [str(filters.folder_id) if filters.folder_id else None, filters.search]
    key = "documents:total:" + hashlib.sha256(json.dumps(signature).encode()).hexdigest()
    total = cache.get(key)
    if total is None:
        with index_driven() if filters.search else contextlib.nullcontext():
            total = documents.count()
        cache.set(key, total, TOTAL_CACHE_SECONDS)
    return total


def _cursor_after(last: Document, filters: ListFilters) -> str:
    value = getattr(last, SORT_FIELDS[filters.sort])
    value = value.isoformat() if hasattr(value, "isoformat") else value
    return encode_cursor({"s": filters.sort, "o": filters.order, "v": value, "id": str(last.pk)})


def version_list(*, document: Document, source: str | None = None) -> QuerySet[DocumentVersion]:
    """Versions newest first (SPEC §10.28)."""
    versions = document.versions.select_related("created_by").defer("content").order_by("-version_number")
    return versions.filter(source=source) if source else versions


def version_get(*, document: Document, number: int) -> DocumentVersion:
    """One version by number; 404 otherwise."""
    version = document.versions.select_related("created_by").filter(version_number=number).first()
    if version is None:
        raise NotFoundError(f"No version {number} of this document.")
    return version


def folder_list(*, workspace) -> list[Folder]:
    """Live folders of a workspace with their live document counts, in tree order keys."""
    live_docs = Count("documents", filter=Q(documents__deleted=False))
    return list(
        Folder.objects.filter(workspace=workspace, deleted_at__isnull=True)
        .select_related("created_by")
        .annotate(document_count=live_docs)
        .order_by("parent_id", "position", "name", "pk")
    )


def folder_get(*, user, folder_id) -> tuple[Folder, Access]:
    """A live folder in a workspace the caller belongs to, with the caller's access; 404 otherwise."""
    try:
        folder_id = uuid.UUID(str(folder_id))
    except ValueError:
        raise NotFoundError() from None
    folder = Folder.objects.filter(pk=folder_id, deleted_at__isnull=True).first()
    access = resolve(user, folder) if folder is not None else None
    if access is None:
        raise NotFoundError("No folder with this id.")
    folder.access = access
    return folder, access


def member_workspace_ids(user):
    """Subquery: live workspaces where `user` is an active member."""
    return active_memberships(user).values("workspace_id")
