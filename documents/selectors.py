"""Reads of documents, versions and folders, scoped in SQL to what the caller may see."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    UUIDField,
    Value,
)
from django.db.models.functions import Left, Length, Lower
from django.utils import timezone

from accounts.tokens import sha256_hex
from documents.cursors import decode_cursor, encode_cursor
from documents.models import (
    Comment,
    Document,
    DocumentShare,
    DocumentStar,
    DocumentTag,
    DocumentVersion,
    Folder,
    ShareLink,
)
from documents.search import index_driven, text_filter
from documents.sharing import granted_documents
from documents.summaries import summaries, summary_annotations, summary_rows, tags_of
from mdcreator.errors import NotFoundError
from mdcreator.queries import count_of, only_row
from mdcreator.sql import with_tables
from mdcreator.validation import first_or_404, uuid_or_404
from workspaces.access import active_memberships, resolve

SORT_FIELDS = {"updated_at": "updated_at", "created_at": "created_at", "title": "title"}


def with_summary_fields(documents: QuerySet[Document], *, user, prefetch_tags: bool = True) -> QuerySet[Document]:
    """Everything a DocSummary needs, in a constant number of queries whatever the page size (the lists
    themselves read rows instead: `documents.summaries`). Without `prefetch_tags` the caller sets each
    document's `tag_list` itself."""
    documents = documents.select_related("created_by", "updated_by").defer("search_vector")
    documents = documents.annotate(**summary_annotations(user))
    if prefetch_tags:
        documents = documents.prefetch_related(Prefetch("tag_rows", queryset=DocumentTag.objects.order_by("pk")))
    return documents


def document_get(
    *, user, document_id, include_deleted: bool = False, share_token: str | None = None, summary: bool = True
) -> Document:
    """A document the caller may read, its `access` set from the resolver; 404 for anything else.

    `summary=False` skips the DocSummary fields, for the endpoints of what hangs off a document
    (comments, grants, links), which only need to know the caller may be there.
    """
    document_id = uuid_or_404(document_id)
    documents = Document.objects.filter(pk=document_id)
    if not include_deleted:
        documents = documents.filter(deleted=False)
    if summary:
        reader = user if user is not None and user.is_authenticated else None  # a link's anonymous reader
        documents = with_summary_fields(documents, user=reader, prefetch_tags=False)
    else:
        documents = documents.select_related("workspace").defer("content", "search_vector")
    document = only_row(documents)  # a primary-key lookup
    access = resolve(user, document, share_token) if document is not None else None
    if access is None:
        raise NotFoundError("No document with this id.")
    document.access = access
    if summary:  # one plain query, cheaper than the prefetch machinery for one document
        document.tag_list = tags_of([document.pk]).get(document.pk, [])
    return document


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


def document_list(*, user, workspace, filters: ListFilters) -> tuple[list[dict], str | None, bool, int]:
    """One page of a workspace's documents: DocSummary bodies, next cursor, has_more, total."""
    documents = _filtered(workspace, user, filters)
    total = _total(documents, workspace, filters)
    field = SORT_FIELDS[filters.sort]
    prefix = "-" if filters.order == "desc" else ""
    page = documents.order_by(f"{prefix}{field}", f"{prefix}id")
    if filters.cursor:
        page = _after(page, filters, decode_cursor(filters.cursor, sort=filters.sort, order=filters.order))
    rows = summary_rows(page[: filters.limit + 1], user=user)
    has_more = len(rows) > filters.limit
    rows = rows[: filters.limit]
    cursor = _cursor_after(rows[-1], filters) if has_more else None
    return summaries(rows), cursor, has_more, total


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


def _cursor_after(last: dict, filters: ListFilters) -> str:
    value = last[SORT_FIELDS[filters.sort]]
    value = value.isoformat() if hasattr(value, "isoformat") else value
    return encode_cursor({"s": filters.sort, "o": filters.order, "v": value, "id": str(last["id"])})


def version_list(*, document: Document, source: str | None = None) -> QuerySet[DocumentVersion]:
    """Versions newest first (SPEC §10.28)."""
    versions = document.versions.select_related("created_by").defer("content").order_by("-version_number")
    return versions.filter(source=source) if source else versions


def version_get(*, document: Document, number: int) -> DocumentVersion:
    """One version by number; 404 otherwise."""
    versions = document.versions.select_related("created_by").filter(version_number=number)
    return first_or_404(versions, f"No version {number} of this document.")


def folder_list(*, workspace) -> list[Folder]:
    """Live folders of a workspace with their live document counts, in tree order keys."""
    live_docs = Count("documents", filter=Q(documents__deleted=False))
    return list(
        Folder.objects.filter(workspace=workspace, deleted_at__isnull=True)
        .select_related("created_by")
        .annotate(document_count=live_docs)
        .order_by("parent_id", "position", "name", "pk")
    )


def folder_get(*, user, folder_id) -> Folder:
    """A live folder in a workspace the caller belongs to, its `access` set; 404 otherwise."""
    folder_id = uuid_or_404(folder_id)
    folder = Folder.objects.filter(pk=folder_id, deleted_at__isnull=True).first()
    access = resolve(user, folder) if folder is not None else None
    if access is None:
        raise NotFoundError("No folder with this id.")
    folder.access = access
    return folder


def share_list(*, document: Document):
    """A document's grants in force or expired (not revoked), oldest first, with the people they name."""
    return (
        document.shares.filter(status=DocumentShare.Status.ACTIVE)
        .select_related("user", "granted_by")
        .order_by("granted_at", "pk")
    )


def share_get(*, document: Document, share_id) -> DocumentShare:
    """One active grant of this document; 404 otherwise."""
    return first_or_404(share_list(document=document).filter(pk=uuid_or_404(share_id)), "No grant with this id.")


def pending_document_invitations(*, document: Document):
    """Invitations of people without an account to this document, still open."""
    return (
        document.invitations.filter(status="pending", expires_at__gt=timezone.now())
        .select_related("invited_by")
        .order_by("created_at", "pk")
    )


def shared_with_me(*, user, limit: int, cursor: str | None) -> tuple[list[dict], str | None, bool]:
    """The caller's granted documents (grants in force), newest grant first: DocSummary bodies with the grant's
    `role`, cursor, has_more."""
    documents = granted_documents(user).annotate(role=F("shares__role"), granted_at=F("shares__granted_at"))
    page = documents.order_by("-granted_at", "-pk")
    if cursor:
        payload = decode_cursor(cursor, sort="granted_at", order="desc")
        page = page.filter(Q(granted_at__lt=payload["v"]) | Q(granted_at=payload["v"], pk__lt=payload["id"]))
    rows = summary_rows(page[: limit + 1], user=user, extra=("role", "granted_at"))
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more:
        last = rows[-1]
        next_cursor = encode_cursor({"s": "granted_at", "o": "desc", "v": last["granted_at"].isoformat(), "id": str(last["id"])})
    return [{**body, "role": row["role"]} for body, row in zip(summaries(rows), rows, strict=True)], next_cursor, has_more


def search_scope(user) -> tuple[dict, dict]:
    """What search may read, in one query: {workspace id: sync seq} of memberships and
    {document id: (workspace id, its sync seq)} of documents granted to the caller (grants in force)."""
    members = active_memberships(user).annotate(document=Value(None, output_field=UUIDField()))
    grants = granted_documents(user).values_list("workspace_id", "workspace__sync_seq", "pk")
    rows = members.values_list("workspace_id", "workspace__sync_seq", "document").union(grants, all=True)
    readable, granted = {}, {}
    for workspace_id, seq, document_id in rows:
        if document_id is None:
            readable[workspace_id] = seq
        else:
            granted[document_id] = (workspace_id, seq)
    return readable, granted


# What a comment's body reads, fetched as plain rows: building model instances for a thread of 200
# comments and their authors cost more than the query itself.
COMMENT_ROW = (
    "id", "document_id", "thread_id", "parent_id", "depth", "content", "content_html", "position", "anchor_text",
    "mentions", "resolved", "resolved_at", "reactions", "edited", "created_at", "updated_at", "deleted_at",
    "author_id", "author__display_name", "author__avatar_url", "author__deleted_at",
    "resolved_by_id", "resolved_by__display_name", "resolved_by__avatar_url", "resolved_by__deleted_at",
    "reply_count",
)


def comments_with_counts() -> QuerySet[Comment]:
    """Comments with their live direct replies counted (one subquery)."""
    replies = count_of(Comment.objects.filter(parent=OuterRef("pk"), deleted_at__isnull=True), "parent")
    return Comment.objects.annotate(reply_count=replies)


def comment_rows(comments: QuerySet[Comment]) -> list[dict]:
    """The rows the Comment body is made from (documents.serializers.comment_payload), in one query."""
    return list(comments.values(*COMMENT_ROW))


def _visible_comments(document: Document) -> QuerySet[Comment]:
    """Live comments, and deleted ones that still hold live replies (placeholders)."""
    live_reply = Comment.objects.filter(parent=OuterRef("pk"), deleted_at__isnull=True)
    return comments_with_counts().filter(document=document).filter(Q(deleted_at__isnull=True) | Exists(live_reply))


def comment_list(*, document: Document, resolved: bool | None = None, thread_id=None) -> QuerySet[Comment]:
    """A document's comments in thread order of creation: filter by the thread's state or one thread."""
    comments = _visible_comments(document)
    if resolved is not None:
        comments = comments.filter(resolved=resolved)
    if thread_id is not None:
        comments = comments.filter(thread_id=thread_id)
    return comments.order_by("created_at", "pk")


# The comments list body, built by PostgreSQL: the same filters, order and fields as `comment_list` +
# `comment_rows` + `serializers.comment_payload` and its count (a test compares the two for every filter),
# without turning 200 rows into Python objects and back.
_COMMENT_PAGE_JSON = """
WITH visible AS (
    SELECT c.id, c.created_at FROM {comment} c
    WHERE c.document_id = %(document)s
      AND (c.deleted_at IS NULL OR EXISTS (
          SELECT 1 FROM {comment} live WHERE live.parent_id = c.id AND live.deleted_at IS NULL))
      AND (%(resolved)s::boolean IS NULL OR c.resolved = %(resolved)s::boolean)
      AND (%(thread)s::uuid IS NULL OR c.thread_id = %(thread)s::uuid)
), page AS (
    SELECT id, created_at FROM visible ORDER BY created_at, id LIMIT %(limit)s OFFSET %(offset)s
)
SELECT json_build_object('comments', coalesce(json_agg(json_build_object(
    'id', c.id, 'document_id', c.document_id, 'thread_id', c.thread_id, 'parent_id', c.parent_id, 'depth', c.depth,
    'author', CASE WHEN author.deleted_at IS NOT NULL
        THEN json_build_object('id', author.id, 'display_name', 'Deleted user', 'avatar_url', NULL)
        ELSE json_build_object('id', author.id, 'display_name', author.display_name, 'avatar_url', author.avatar_url)
    END,
    'content', c.content, 'content_html', c.content_html, 'position', c.position, 'anchor_text', c.anchor_text,
    'mentions', c.mentions, 'resolved', c.resolved,
    'resolved_by', CASE WHEN resolver.id IS NULL THEN NULL
        WHEN resolver.deleted_at IS NOT NULL
        THEN json_build_object('id', resolver.id, 'display_name', 'Deleted user', 'avatar_url', NULL)
        ELSE json_build_object('id', resolver.id, 'display_name', resolver.display_name, 'avatar_url', resolver.avatar_url)
    END,
    'resolved_at', to_char(c.resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'reactions', (
        SELECT coalesce(json_agg(entry || jsonb_build_object('count', jsonb_array_length(entry -> 'users')) ORDER BY n),
                        '[]'::json)
        FROM jsonb_array_elements(c.reactions) WITH ORDINALITY AS reaction(entry, n)),
    'reply_count', (
        SELECT count(*) FROM {comment} live WHERE live.parent_id = c.id AND live.deleted_at IS NULL),
    'edited', c.edited,
    'created_at', to_char(c.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'updated_at', to_char(c.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'deleted', c.deleted_at IS NOT NULL
) ORDER BY page.created_at, page.id), '[]'::json), 'total', (SELECT count(*) FROM visible))::text
FROM page
JOIN {comment} c ON c.id = page.id
JOIN {user} author ON author.id = c.author_id
LEFT JOIN {user} resolver ON resolver.id = c.resolved_by_id
"""


def comment_list_json(*, document: Document, resolved: bool | None, thread_id, offset: int, limit: int) -> str | None:
    """The body of `documents/{id}/comments` for one page of `comment_list` (`{comments, total}`), written by
    PostgreSQL in one statement; None on other engines."""
    if connection.vendor != "postgresql":
        return None
    params = {"document": document.pk, "resolved": resolved, "thread": thread_id, "offset": offset, "limit": limit}
    with connection.cursor() as cursor:
        cursor.execute(with_tables(_COMMENT_PAGE_JSON, comment=Comment, user=Comment.author.field.related_model), params)
        return cursor.fetchone()[0]


def comment_get(*, user, comment_id, share_token: str | None = None) -> Comment:
    """A visible comment of a document the caller may read, `access` set to the caller's on that document;
    404 otherwise. Visible: live, or deleted but still holding live replies (a placeholder)."""
    comment = (
        Comment.objects.select_related("document")
        .defer("document__content", "document__search_vector")
        .filter(pk=uuid_or_404(comment_id), document__deleted=False)
        .first()
    )
    access = resolve(user, comment.document, share_token) if comment is not None else None
    if access is None or (comment.deleted_at is not None and not comment.replies.filter(deleted_at__isnull=True).exists()):
        raise NotFoundError("No comment with this id.")
    comment.access = access
    return comment


def comment_replies(*, comment: Comment) -> QuerySet[Comment]:
    """The visible direct replies of a comment, oldest first."""
    return _visible_comments(comment.document).filter(parent=comment).order_by("created_at", "pk")


def link_list(*, document: Document) -> QuerySet[ShareLink]:
    """Every link of a document, revoked ones included, newest first."""
    return document.share_links.select_related("created_by").order_by("-created_at", "pk")


def link_get(*, document: Document, link_id) -> ShareLink:
    """One link of this document; 404 otherwise."""
    return first_or_404(link_list(document=document).filter(pk=uuid_or_404(link_id)), "No share link with this id.")


def document_summary(*, document_id, user) -> Document:
    """One document with its DocSummary fields, for any caller (anonymous: never starred)."""
    viewer = user if user is not None and user.is_authenticated else None
    return with_summary_fields(Document.objects.filter(pk=document_id), user=viewer).defer("content").get()


# --- the existing client's snapshots and link validation (SPEC §3.9) ------------------------------------------

SNAPSHOT_PREVIEW_CHARS = 16 * 1024


def snapshot_list(*, document: Document) -> QuerySet[DocumentVersion]:
    """Versions newest first, each with the start of its content (`preview_text`) and its length in characters:
    a list renders previews without reading whole contents."""
    return version_list(document=document).annotate(
        preview_text=Left("content", SNAPSHOT_PREVIEW_CHARS), content_chars=Length("content")
    )


def version_get_by_id(*, document: Document, version_id) -> DocumentVersion:
    """One version of this document by its id; 404 otherwise (a malformed id too)."""
    versions = document.versions.select_related("created_by").filter(pk=uuid_or_404(version_id))
    return first_or_404(versions, "No snapshot with this id.")


def link_unusable_reason(token: str) -> str:
    """Why a share link's token opens nothing: `invalid_token` (unknown, or its document is gone), `revoked`,
    `expired`, `guest_access_disabled` or `max_uses_exceeded`; `invalid_token` when nothing stands out."""
    link = (
        ShareLink.objects.select_related("document__workspace").filter(token_hash=sha256_hex(token)).first()
    )
    if link is None or link.document.deleted or link.document.workspace.deleted_at is not None:
        return "invalid_token"
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= timezone.now():
        return "expired"
    if not (link.document.workspace.settings or {}).get("allow_guest_access"):
        return "guest_access_disabled"
    if link.max_uses is not None and link.uses_count >= link.max_uses:
        return "max_uses_exceeded"
    return "invalid_token"
