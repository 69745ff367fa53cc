"""DocSummary bodies built straight from rows, for the lists that carry many of them.

A page of 50 documents through the ORM and `DocumentSummarySerializer` built about 250 model instances (each
document, its creator, its last editor, its tags) and then read them back field by field: most of a list
request's time. Here one `values()` query reads the columns, the counts and the two people; one more reads
the page's tags; and each body is written as a dict. `DocumentSummarySerializer` still describes the body for
the schema and renders single documents; the tests hold both to the same output.
"""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Exists, OuterRef, QuerySet

from accounts.serializers import summary_of
from documents.models import Comment, DocumentStar, DocumentTag, DocumentVersion
from mdcreator.queries import count_of
from mdcreator.timestamps import utc_timestamp_or_none

_PERSON = ("id", "display_name", "avatar_url", "deleted_at")
_COLUMNS = (
    "id", "workspace_id", "folder_id", "title", "type", "content_hash", "size_bytes", "word_count", "metadata",
    "view_count", "created_at", "updated_at", "last_viewed_at", "last_edited_at", "deleted", "deleted_at",
    *(f"created_by__{name}" for name in _PERSON), *(f"updated_by__{name}" for name in _PERSON),
)  # fmt: skip


def summary_annotations(user) -> dict:
    """The DocSummary fields that are not columns: the caller's star and the version and live comment counts,
    each one subquery. `user` None (a link's anonymous reader) has starred nothing."""
    return {
        "is_starred": Exists(DocumentStar.objects.filter(document=OuterRef("pk"), user=user)),
        "version_count": count_of(DocumentVersion.objects.filter(document=OuterRef("pk")), "document"),
        "comment_count": count_of(
            Comment.objects.filter(document=OuterRef("pk"), deleted_at__isnull=True), "document"
        ),  # the partial index on live comments answers it
    }


def summary_rows(documents: QuerySet, *, user, extra: tuple[str, ...] = ()) -> list[dict]:
    """The rows of `documents` (filtered, ordered and sliced by the caller) with every DocSummary column and
    the `extra` fields or annotations named, in one query; `summary_body` turns one into its body."""
    annotations = summary_annotations(user)
    return list(documents.annotate(**annotations).values(*_COLUMNS, *annotations, *extra))


def tags_of(document_ids) -> dict:
    """Each document's tags in the order they were given (as the ORM's `tag_rows` list them), one query."""
    tags = defaultdict(list)
    rows = DocumentTag.objects.filter(document_id__in=list(document_ids)).order_by("pk")
    for document_id, tag in rows.values_list("document_id", "tag"):
        tags[document_id].append(tag)
    return tags


def _person(row: dict, prefix: str) -> dict | None:
    person_id = row[f"{prefix}__id"]
    if person_id is None:
        return None
    return summary_of(
        person_id, row[f"{prefix}__display_name"], row[f"{prefix}__avatar_url"], row[f"{prefix}__deleted_at"]
    )


def _uuid(value) -> str | None:
    return None if value is None else str(value)


def summary_body(row: dict, tags: list[str]) -> dict:
    """`DocSummary` (SPEC §0) of a `summary_rows` row, field for field what `DocumentSummarySerializer` writes."""
    return {
        "id": str(row["id"]),
        "workspace_id": str(row["workspace_id"]),
        "folder_id": _uuid(row["folder_id"]),
        "title": row["title"],
        "type": row["type"],
        "content_hash": row["content_hash"],
        "size_bytes": row["size_bytes"],
        "word_count": row["word_count"],
        "tags": tags,
        "metadata": row["metadata"],
        "is_starred": bool(row["is_starred"]),
        "creator": _person(row, "created_by"),
        "last_editor": _person(row, "updated_by"),
        "view_count": row["view_count"],
        "comment_count": row["comment_count"],
        "version_count": row["version_count"],
        "created_at": utc_timestamp_or_none(row["created_at"]),
        "updated_at": utc_timestamp_or_none(row["updated_at"]),
        "last_viewed_at": utc_timestamp_or_none(row["last_viewed_at"]),
        "last_edited_at": utc_timestamp_or_none(row["last_edited_at"]),
        "deleted": row["deleted"],
        "deleted_at": utc_timestamp_or_none(row["deleted_at"]),
    }


def summaries(rows: list[dict]) -> list[dict]:
    """The DocSummary bodies of `summary_rows` rows, their tags read in one query."""
    tags = tags_of(row["id"] for row in rows) if rows else {}
    return [summary_body(row, tags.get(row["id"], [])) for row in rows]
