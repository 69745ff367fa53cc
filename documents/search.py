"""Full-text search: PostgreSQL tsvector ranking, a plain matcher on SQLite (SPEC §3.3)."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Left

from documents.models import Document
from documents.services.search_index import CONFIG, INDEXED_CONTENT_CHARS

# Private markers: hits are marked with these, the text is escaped, then they become <mark>.
_START, _STOP = "\ue000mdc-hit\ue001", "\ue000/mdc-hit\ue001"
SNIPPET_RADIUS = 60


@dataclass
class SearchHit:
    """One result: the document, its score and its highlighted title and snippets (safe HTML)."""

    document: Document
    rank: float
    title_highlight: str
    snippets: list[str]


def _query(text: str) -> SearchQuery:
    return SearchQuery(text, search_type="websearch", config=CONFIG)


def _words(text: str) -> list[str]:
    return [word for word in re.split(r"\s+", text.strip()) if word]


def text_filter(text: str) -> Q:
    """The list's `search` filter: the tsquery on PostgreSQL, every word as a substring on SQLite."""
    if settings.IS_POSTGRES:
        return Q(search_vector=_query(text))
    condition = Q()
    for word in _words(text):
        condition &= Q(title__icontains=word) | Q(content__icontains=word)
    return condition


def _marked(text: str) -> str:
    """Escape everything, then turn the private markers into <mark> tags."""
    return html.escape(text, quote=False).replace(_START, "<mark>").replace(_STOP, "</mark>")


def search_documents(documents: QuerySet[Document], text: str, *, limit: int, offset: int):
    """Search within `documents` (already scoped to the caller); returns (hits, total)."""
    if settings.IS_POSTGRES:
        return _search_postgres(documents, text, limit=limit, offset=offset)
    return _search_simple(documents, text, limit=limit, offset=offset)


def _headlines(ids: list, query: SearchQuery) -> dict:
    """ts_headline of title and content for the page's documents only (it is costly per row)."""
    options = {"config": CONFIG, "start_sel": _START, "stop_sel": _STOP}
    rows = (
        Document.objects.filter(pk__in=ids)
        .annotate(
            title_hl=SearchHeadline("title", query, highlight_all=True, **options),
            content_hl=SearchHeadline(
                Left("content", INDEXED_CONTENT_CHARS), query, max_fragments=2, max_words=20, min_words=5,
                fragment_delimiter="\n", **options,
            ),
        )
        .values_list("pk", "title_hl", "content_hl")
    )
    return {pk: (title, content) for pk, title, content in rows}


def _search_postgres(documents: QuerySet[Document], text: str, *, limit: int, offset: int):
    query = _query(text)
    matches = documents.filter(search_vector=query)
    total = matches.count()
    page = list(
        matches.annotate(rank=SearchRank(F("search_vector"), query, cover_density=True))
        .order_by("-rank", "-updated_at", "pk")
        .defer("content", "search_vector")[offset : offset + limit]
    )
    headlines = _headlines([document.pk for document in page], query) if page else {}
    hits = []
    for document in page:
        title, content = headlines[document.pk]
        snippets = [_marked(part) for part in content.split("\n") if _START in part]
        hits.append(SearchHit(document, float(document.rank), _marked(title), snippets))
    return hits, total


def _mark_words(text: str, words: list[str]) -> str:
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    return _marked(pattern.sub(lambda match: _START + match.group(0) + _STOP, text))


def _simple_hit(document: Document, words: list[str]) -> SearchHit:
    title, content = document.title.lower(), document.content.lower()
    score = sum(2 * title.count(word.lower()) + content.count(word.lower()) for word in words)
    first = min((content.find(word.lower()) for word in words if word.lower() in content), default=-1)
    snippets = []
    if first >= 0:
        start, end = max(0, first - SNIPPET_RADIUS), first + SNIPPET_RADIUS
        snippets.append(_mark_words(document.content[start:end], words))
    return SearchHit(document, float(score), _mark_words(document.title, words), snippets)


def _search_simple(documents: QuerySet[Document], text: str, *, limit: int, offset: int):
    """The embedded default: substring matches scored 2 per title hit and 1 per content hit."""
    words = _words(text)
    matches = list(documents.filter(text_filter(text)))
    hits = sorted((_simple_hit(document, words) for document in matches), key=lambda hit: -hit.rank)
    return hits[offset : offset + limit], len(matches)
