"""Keeping `search_vector` in step with title, content and tags (PostgreSQL, SPEC §3.3)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.search import SearchVector
from django.db.models import Value
from django.db.models.functions import Left

from documents.models import Document

# tsvector values are capped at 1 MiB; the first characters of very long documents are indexed.
INDEXED_CONTENT_CHARS = 250_000
CONFIG = "english"


def search_vector_expression(tags: list[str]):
    """title A, content B, tags C."""
    return (
        SearchVector("title", weight="A", config=CONFIG)
        + SearchVector(Left("content", INDEXED_CONTENT_CHARS), weight="B", config=CONFIG)
        + SearchVector(Value(" ".join(tags)), weight="C", config=CONFIG)
    )


def search_vector_of(*, title: str, content: str, tags: list[str]):
    """The vector of `search_vector_expression`, from values rather than columns: for the UPDATE that writes
    those columns (an UPDATE's column references read the row as it was)."""
    return (
        SearchVector(Value(title), weight="A", config=CONFIG)
        + SearchVector(Value(content[:INDEXED_CONTENT_CHARS]), weight="B", config=CONFIG)
        + SearchVector(Value(" ".join(tags)), weight="C", config=CONFIG)
    )


def search_index_refresh(*, document_id, tags: list[str]) -> None:
    """Recompute one document's vector; call it in the transaction that changed it."""
    if settings.IS_POSTGRES:
        Document.objects.filter(pk=document_id).update(search_vector=search_vector_expression(tags))
