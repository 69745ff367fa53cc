"""Full-text search: PostgreSQL tsvector ranking, a plain matcher on SQLite (SPEC §3.3)."""

from __future__ import annotations

import hashlib
import html
import json
import re
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import Left

from documents.models import Document
from documents.services.search_index import CONFIG, INDEXED_CONTENT_CHARS

# Private markers: hits are marked with these, the text is escaped, then they become <mark>.
_START, _STOP = "\ue000mdc-hit\ue001", "\ue000/mdc-hit\ue001"
SNIPPET_RADIUS = 60
# At most this many matches are ranked; see _ranking.
RANK_WINDOW = 1000
# The deepest result a page can reach (offset ≤ 500, limit ≤ 50).
REACHABLE = 550
RANKING_CACHE_SECONDS = 600
# ts_headline first looks at this many characters of each document on the page (see _highlighted).
HEADLINE_FIRST_CHARS = 4000


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


def search_documents(
    documents: QuerySet[Document], text: str, *, limit: int, offset: int, summarize, cache_key: str | None = None
):
    """Search within `documents` (already scoped to the caller); returns (hits, total).

    `summarize` turns a queryset of the hits into one carrying the DocSummary fields. With
    `cache_key` (see ranking_cache_key) the ranking is kept for the next pages and repeats.
    """
    if settings.IS_POSTGRES:
        return _search_postgres(documents, text, limit=limit, offset=offset, summarize=summarize, cache_key=cache_key)
    return _search_simple(summarize(documents), text, limit=limit, offset=offset)


@contextmanager
def index_driven():
    """Run the statements inside from the GIN index, never by testing `@@` row by row.

    The planner costs `search_vector @@ query` as a cheap filter, but each test detoasts and
    decompresses a whole tsvector (about 5 µs for an average document): for a word found in most
    documents it picks a sequential or workspace-index scan that tests tens of thousands of
    vectors. A bitmap scan of the GIN index tests none of them.
    """
    if not settings.IS_POSTGRES:
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off")
        yield


def _headline_fields(query: SearchQuery, chars: int) -> dict:
    """ts_headline of the title and of the first `chars` characters of the content."""
    options = {"config": CONFIG, "start_sel": _START, "stop_sel": _STOP}
    return {
        "title_hl": SearchHeadline("title", query, highlight_all=True, **options),
        "content_hl": SearchHeadline(
            Left("content", chars),
            query,
            max_fragments=2,
            max_words=20,
            min_words=5,
            fragment_delimiter="\n",
            **options,
        ),
    }


def _ranking(documents: QuerySet[Document], query: SearchQuery, cache_key: str | None) -> tuple[int, list]:
    """(total, [(id, rank), ...] best first, as far as a page can reach), cached under `cache_key`.

    Ranking reads every candidate's tsvector, so it is bounded: when more than RANK_WINDOW documents
    match, the RANK_WINDOW most recently updated of them are ranked (every reachable page, offset ≤ 500
    plus limit ≤ 50, lies inside). `total` always counts every match.
    """
    cached = cache.get(cache_key) if cache_key else None
    if cached is not None:
        return cached
    with index_driven():
        candidates = list(
            documents.filter(search_vector=query)
            .annotate(total=Window(Count("pk")))
            .order_by("-updated_at", "pk")
            .values_list("pk", "total")[:RANK_WINDOW]
        )
    ranking = (0, [])
    if candidates:
        ranked = (
            Document.objects.filter(pk__in=[pk for pk, _ in candidates])
            .annotate(rank=SearchRank(F("search_vector"), query, cover_density=True))
            .order_by("-rank", "-updated_at", "pk")
            .values_list("pk", "rank")[:REACHABLE]
        )
        ranking = (candidates[0][1], [(pk, float(rank)) for pk, rank in ranked])
    if cache_key:
        cache.set(cache_key, ranking, RANKING_CACHE_SECONDS)
    return ranking


def _highlighted(rows: QuerySet[Document], query: SearchQuery, text: str) -> dict:
    """The page's rows with title_hl and content_hl, by id.

    Highlights depend only on the document's title and content and on the query, so they are
    kept under those (a changed document has another content hash and title). ts_headline parses
    all the text it is given, so it first gets the beginning of each document; only documents
    whose hits all lie further on are highlighted again over their indexed content.
    """
    page = {row.pk: row for row in rows}
    keys = {pk: _headline_key(row, text) for pk, row in page.items()}
    kept = cache.get_many(list(keys.values()))
    missing = [pk for pk, key in keys.items() if key not in kept]
    if missing:
        fresh = {}
        first = Document.objects.filter(pk__in=missing).annotate(**_headline_fields(query, HEADLINE_FIRST_CHARS))
        for pk, title_hl, content_hl, size in first.values_list("pk", "title_hl", "content_hl", "size_bytes"):
            fresh[pk] = (title_hl, content_hl, size)
        deeper = [pk for pk, (_, hl, size) in fresh.items() if _START not in hl and size > HEADLINE_FIRST_CHARS]
        if deeper:
            again = Document.objects.filter(pk__in=deeper).annotate(**_headline_fields(query, INDEXED_CONTENT_CHARS))
            for pk, content_hl in again.values_list("pk", "content_hl"):
                fresh[pk] = (fresh[pk][0], content_hl, None)
        kept.update({keys[pk]: (title_hl, content_hl) for pk, (title_hl, content_hl, _) in fresh.items()})
        cache.set_many({keys[pk]: kept[keys[pk]] for pk in fresh}, RANKING_CACHE_SECONDS)
    for pk, row in page.items():
        row.title_hl, row.content_hl = kept[keys[pk]]
    return page


def _headline_key(document: Document, text: str) -> str:
    raw = json.dumps([str(document.pk), document.title, document.content_hash, text], separators=(",", ":"))
    return "search:headline:" + hashlib.sha256(raw.encode()).hexdigest()


def ranking_cache_key(scope, text: str) -> str:
    """A cache key for a search over `scope`, which must change whenever a result could (see SearchView)."""
    raw = json.dumps([scope, text], default=str, separators=(",", ":"))
    return "search:ranking:" + hashlib.sha256(raw.encode()).hexdigest()


def _search_postgres(documents: QuerySet[Document], text: str, *, limit: int, offset: int, summarize, cache_key):
    """Match from the GIN index, rank with ts_rank_cd, then fetch and highlight one page."""
    query = _query(text)
    total, ranked = _ranking(documents, query, cache_key)
    ranked = ranked[offset : offset + limit]
    if not ranked:
        return [], total
    rows = summarize(Document.objects.filter(pk__in=[pk for pk, _ in ranked])).defer("content", "search_vector")
    page = _highlighted(rows, query, text)
    hits = []
    for pk, rank in ranked:
        document = page.get(pk)
        if document is None:  # gone since the ranking was cached (its workspace's seq had not moved yet)
            continue
        snippets = [_marked(part) for part in document.content_hl.split("\n") if _START in part]
        hits.append(SearchHit(document, rank, _marked(document.title_hl), snippets))
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
