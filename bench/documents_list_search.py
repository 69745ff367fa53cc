#!/usr/bin/env python3
"""Latency of the document list and of search over 100,000 documents on PostgreSQL; prints figures, asserts nothing.

    python bench/documents_list_search.py [--documents 100000] [--requests 200] [--reseed]

See bench/README.md ("Document list and search benchmark") for what is measured and how to read it.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import re
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import redis
from _common import (
    Api,
    QueryPlan,
    Sample,
    TextMaker,
    add_read_options,
    add_seed_options,
    costs,
    engine_urls,
    first_ask_line,
    first_asks,
    latency_line,
    load_avg_line,
    one_daphne,
    percentile_ms,
    prepare_seeded,
    print_costs,
    print_plans,
    print_seeded_header,
    seeded_main,
    served_selects,
    timed_gets,
    vacuum_analyze,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mdcreator_bench_docs"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
BENCH_EMAIL = "docs-bench@bench.mdcreator.test"
AUTHOR_EMAIL = "docs-author-{}@bench.mdcreator.test"
BENCH_PASSWORD = "Documents-Bench-42x"
TARGET_P95_MS = 50.0
SEED_VERSION = 1
# name, share of the documents, the bench user's role there (None: not a member, so search must skip it)
WORKSPACES = (
    ("Bench big team", 0.90, "owner"),
    ("Bench design", 0.06, "editor"),
    ("Bench research", 0.03, "viewer"),
    ("Bench outsiders", 0.01, None),
)
DELETED_SHARE = 0.02
STARRED_SHARE = 0.01
RARE_WORD, COMMON_WORD = "kubernetes", "document"
SEARCHES = (
    ("rare word", RARE_WORD),
    ("common word", COMMON_WORD),
    ("phrase", '"offline sync"'),
    ("or", "latency or throughput"),
    ("negation", "deploy -staging"),
)
SEED_TABLES = ("documents_document", "documents_documenttag", "documents_documentversion", "documents_documentstar")


# --- command line and environment -------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line; engine URLs default to the environment, then to localhost."""
    parser = argparse.ArgumentParser(
        description="p50/p95 latency of GET workspaces/{wid}/documents and GET search over a seeded corpus.",
        epilog="Environment: DATABASE_URL (PostgreSQL; created if missing), REDIS_URL.",
    )
    parser.add_argument("--documents", type=int, default=100_000, help="documents to seed (100000)")
    parser.add_argument("--requests", type=int, default=200, help="measured sequential requests per scenario (200)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests before each scenario (20)")
    parser.add_argument(
        "--cold-requests",
        type=int,
        default=50,
        help="requests per scenario answered with no kept total or ranking (50)",
    )
    parser.add_argument("--walk", type=int, default=2000, help="rows walked with the cursor for the deep page (2000)")
    add_seed_options(parser)
    add_read_options(parser)
    args = parser.parse_args(argv)
    engine_urls(args, DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL)
    if args.documents < 1000 or args.requests < 1 or args.warmup < 0 or args.walk < 50 or args.cold_requests < 0:
        parser.error("--documents must be >= 1000, --requests >= 1, --warmup >= 0, --walk >= 50, --cold-requests >= 0")
    return args


# --- seeding ----------------------------------------------------------------------
def seed_marker(args: argparse.Namespace) -> str:
    """What the big workspace's description says once a seed with these parameters finished."""
    return f"bench-docs seed v{SEED_VERSION} documents={args.documents} seed={args.seed}"


def seed_users() -> list:
    """The bench user (who signs in) and four authors, created through the account service."""
    from accounts.services.users import user_create

    bench = user_create(email=BENCH_EMAIL, password=BENCH_PASSWORD, display_name="Docs bench", email_verified=True)
    authors = [
        user_create(email=AUTHOR_EMAIL.format(i), password=None, display_name=f"Author {i}", email_verified=True)
        for i in range(1, 5)
    ]
    return [bench, *authors]


def seed_workspaces(users: list) -> list:
    """The team workspaces of WORKSPACES, with every author a member and the bench user where listed."""
    from django.utils import timezone

    from workspaces.models import WorkspaceMember
    from workspaces.services.workspaces import workspace_create

    bench, authors = users[0], users[1:]
    workspaces = []
    for index, (name, _, role) in enumerate(WORKSPACES):
        owner = bench if role == "owner" else authors[index % len(authors)]
        workspace = workspace_create(owner=owner, name=name)
        others = [user for user in users if user != owner and (user != bench or role)]
        WorkspaceMember.objects.bulk_create(
            WorkspaceMember(
                workspace=workspace,
                user=user,
                role=role if user == bench else "editor",
                invitation_accepted_at=timezone.now(),
            )
            for user in others
        )
        workspaces.append(workspace)
    return workspaces


def seed_folders(workspace, count: int) -> list:
    """A few top-level folders."""
    from documents.models import Folder

    return [Folder.objects.create(workspace=workspace, name=f"Folder {i + 1}", position=i) for i in range(count)]


@contextlib.contextmanager
def explicit_timestamps():
    """Let bulk_create keep the spread-out created_at / updated_at instead of stamping now()."""
    from documents.models import Document, DocumentVersion

    fields = [f for m in (Document, DocumentVersion) for f in m._meta.concrete_fields if hasattr(f, "auto_now")]
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    for f in fields:
        f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def build_versions(document, rng: random.Random) -> list:
    """Version 1 as document_create records it, plus a few later ones for a fifth of the documents."""
    from documents.models import DocumentVersion

    count = 1 if rng.random() < 0.8 else rng.randint(2, 6)
    span = document.updated_at - document.created_at
    return [
        DocumentVersion(
            id=uuid.UUID(int=rng.getrandbits(128), version=4),
            document=document,
            version_number=number,
            title=document.title,
            content=document.content,
            content_hash=document.content_hash,
            source="auto" if number == 1 else "manual",
            created_by=document.created_by,
            created_at=document.created_at + span * (number - 1) / count,
            updated_at=document.created_at + span * (number - 1) / count,
            size_bytes=document.size_bytes,
        )
        for number in range(1, count + 1)
    ]


def build_document(maker: TextMaker, *, workspace, folders: list, authors: list, now) -> tuple:
    """One document with derived fields set as document_create sets them, its tags and versions."""
    from documents.content import content_hash, word_count
    from documents.models import Document

    rng = maker.rng
    title = maker.title()
    content = maker.markdown(title, maker.length())
    updated = now - timedelta(seconds=rng.uniform(0, 730 * 86400))
    editor = rng.choice(authors)
    deleted = rng.random() < DELETED_SHARE
    document = Document(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        workspace=workspace,
        title=title,
        content=content,
        folder=rng.choice(folders) if rng.random() < 0.6 else None,
        content_hash=content_hash(content),
        size_bytes=len(content.encode("utf-8")),
        word_count=word_count(content),
        created_by=rng.choice(authors),
        updated_by=editor,
        created_at=updated - timedelta(seconds=rng.uniform(0, 200 * 86400)),
        updated_at=updated,
        last_edited_at=updated,
        view_count=int(rng.paretovariate(1.2)) - 1,
        deleted=deleted,
        deleted_at=updated if deleted else None,
        deleted_by=editor if deleted else None,
    )
    return document, maker.tags(), build_versions(document, rng)


def insert_rows(rows: list[tuple]) -> None:
    """bulk_create one batch of documents with their tags and versions."""
    from django.db import transaction

    from documents.models import Document, DocumentTag, DocumentVersion

    with transaction.atomic():
        Document.objects.bulk_create([document for document, _, _ in rows])
        DocumentTag.objects.bulk_create([DocumentTag(document=d, tag=tag) for d, tags, _ in rows for tag in tags])
        DocumentVersion.objects.bulk_create([version for _, _, versions in rows for version in versions])


def seed_documents(maker: TextMaker, plan: list[tuple], batch: int = 1000) -> list:
    """Insert every workspace's documents in batches; returns their ids."""
    from django.utils import timezone

    now, ids, started = timezone.now(), [], time.perf_counter()
    with explicit_timestamps():
        for workspace, count, folders, authors in plan:
            for start in range(0, count, batch):
                rows = [
                    build_document(maker, workspace=workspace, folders=folders, authors=authors, now=now)
                    for _ in range(min(batch, count - start))
                ]
                insert_rows(rows)
                ids += [document.pk for document, _, _ in rows]
                if len(ids) % 10_000 < batch:
                    print(f"  {len(ids):>7} documents inserted ({time.perf_counter() - started:.0f} s)", flush=True)
    return ids


def bulk_search_vector():
    """search_vector_expression() with the tags read from DocumentTag (pk order) instead of a Python list."""
    from django.contrib.postgres.aggregates import StringAgg
    from django.contrib.postgres.search import SearchVector
    from django.db.models import OuterRef, Subquery, TextField, Value
    from django.db.models.functions import Coalesce, Left

    from documents.models import DocumentTag
    from documents.services.search_index import CONFIG, INDEXED_CONTENT_CHARS

    tags = DocumentTag.objects.filter(document=OuterRef("pk")).order_by().values("document")
    joined = tags.annotate(text=StringAgg("tag", delimiter=" ", order_by="pk")).values("text")
    return (
        SearchVector("title", weight="A", config=CONFIG)
        + SearchVector(Left("content", INDEXED_CONTENT_CHARS), weight="B", config=CONFIG)
        + SearchVector(Coalesce(Subquery(joined), Value(""), output_field=TextField()), weight="C", config=CONFIG)
    )


def fill_search_vectors(ids: list, batch: int = 10_000) -> None:
    """One set-based UPDATE per batch of ids, then check a sample against the service's own expression."""
    from documents.models import Document

    started = time.perf_counter()
    for start in range(0, len(ids), batch):
        Document.objects.filter(pk__in=ids[start : start + batch]).update(search_vector=bulk_search_vector())
    print(f"  search_vector filled in {time.perf_counter() - started:.0f} s", flush=True)
    sample = random.Random(0).sample(ids, 50)
    same = sum(vector_matches_service(document_id) for document_id in sample)
    print(f"  search_vector equals search_index_refresh's on {same}/{len(sample)} sampled documents")


def vector_matches_service(document_id) -> bool:
    """Whether the stored vector equals what search_index_refresh would write for this document."""
    from documents.models import Document, DocumentTag
    from documents.services.search_index import search_vector_expression

    tags = list(DocumentTag.objects.filter(document_id=document_id).order_by("pk").values_list("tag", flat=True))
    row = Document.objects.filter(pk=document_id).annotate(expected=search_vector_expression(tags))
    stored, expected = row.values_list("search_vector", "expected").get()
    return stored == expected


def seed_stars(user, workspace, rng: random.Random) -> int:
    """The bench user stars a share of the big workspace's live documents."""
    from documents.models import Document, DocumentStar

    live = list(Document.objects.filter(workspace=workspace, deleted=False).order_by("pk").values_list("pk", flat=True))
    chosen = rng.sample(live, int(len(live) * STARRED_SHARE))
    DocumentStar.objects.bulk_create(DocumentStar(user=user, document_id=pk) for pk in chosen)
    return len(chosen)


def seed(args: argparse.Namespace) -> None:
    """Users, workspaces, folders, documents, tags, versions, vectors and stars; then mark the seed done."""
    from workspaces.models import Workspace

    started = time.perf_counter()
    print(f"seeding {args.documents} documents (seed {args.seed})", flush=True)
    users = seed_users()
    workspaces = seed_workspaces(users)
    counts = [int(args.documents * share) for _, share, _ in WORKSPACES]
    counts[0] += args.documents - sum(counts)
    plan = [
        (ws, count, seed_folders(ws, 8 if i == 0 else 3), users if role else users[1:])
        for i, (ws, count, (_, _, role)) in enumerate(zip(workspaces, counts, WORKSPACES, strict=True))
    ]
    ids = seed_documents(TextMaker(args.seed), plan)
    fill_search_vectors(ids)
    stars = seed_stars(users[0], workspaces[0], random.Random(args.seed + 2))
    vacuum_analyze(SEED_TABLES)
    Workspace.objects.filter(pk=workspaces[0].pk).update(description=seed_marker(args))
    print(f"seeded in {time.perf_counter() - started:.0f} s ({stars} stars)", flush=True)


def prepare(args: argparse.Namespace) -> None:
    """Migrate, then seed unless a finished seed with the same parameters is there."""
    prepare_seeded(args, marker=seed_marker(args), seed=seed, leftovers=corpus_size)


def corpus_size() -> int:
    """Documents in the database, whoever made them."""
    from documents.models import Document

    return Document.objects.count()


# --- corpus facts -----------------------------------------------------------------
@dataclass
class Corpus:
    """Ids and counts the scenarios and the header need."""

    big_id: str
    small_id: str
    lines: list[str]


def describe_corpus() -> Corpus:
    """Documents per workspace, tags, versions, stars and table sizes."""
    from django.db.models import Count, Q

    from documents.models import Document, DocumentStar, DocumentTag, DocumentVersion
    from workspaces.models import Workspace

    names = [name for name, _, _ in WORKSPACES]
    live = Count("documents", filter=Q(documents__deleted=False))
    gone = Count("documents", filter=Q(documents__deleted=True))
    rows = {ws.name: ws for ws in Workspace.objects.filter(name__in=names).annotate(live=live, gone=gone)}
    lines = [
        f"{name:<18} {rows[name].live:>7} live + {rows[name].gone:>5} deleted documents, "
        f"bench user: {role or 'not a member'}"
        for name, _, role in WORKSPACES
    ]
    lines.append(
        f"{'all':<18} {Document.objects.count():>7} documents, {DocumentTag.objects.count()} tags, "
        f"{DocumentVersion.objects.count()} versions, {DocumentStar.objects.count()} stars"
    )
    lines += table_sizes()
    return Corpus(big_id=str(rows[names[0]].pk), small_id=str(rows[names[2]].pk), lines=lines)


def table_sizes() -> list[str]:
    """On-disk size of the documents table, its TOAST and its indexes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_table_size('documents_document')),"
            " pg_size_pretty(pg_indexes_size('documents_document')),"
            " pg_size_pretty(pg_relation_size('document_search_vector_gin')),"
            " (SELECT round(avg(size_bytes)) FROM documents_document),"
            " (SELECT round(avg(word_count)) FROM documents_document)"
        )
        table, indexes, gin, avg_size, avg_words = cursor.fetchone()
    return [
        f"{'documents table':<18} {table} with TOAST, indexes {indexes} (GIN search_vector {gin}); "
        f"average document {avg_size} bytes, {avg_words} words"
    ]


def walked_cursor(api: Api, path: str, params: dict, rows: int) -> str:
    """The cursor reached by paging through `rows` rows, 50 at a time, as a client scrolling would."""
    cursor = None
    for _ in range(rows // 50):
        body = api.get(path, {**params, "limit": 50, **({"cursor": cursor} if cursor else {})}).json()
        cursor = body["cursor"]
    return cursor


def midway_cursor(api: Api, path: str, workspace_id: str, sort: str, order: str) -> str:
    """A cursor half-way into the order, built like the list builds its own; checked against the API."""
    from documents.cursors import encode_cursor
    from documents.models import Document

    prefix = "-" if order == "desc" else ""
    rows = Document.objects.filter(workspace_id=workspace_id, deleted=False).order_by(f"{prefix}{sort}", f"{prefix}id")
    middle = rows.count() // 2
    (value, pk), (_, next_pk) = rows.values_list(sort, "id")[middle : middle + 2]
    value = value.isoformat() if hasattr(value, "isoformat") else value
    cursor = encode_cursor({"s": sort, "o": order, "v": value, "id": str(pk)})
    params = {} if sort == "updated_at" else {"sort": sort, "order": order}
    first = api.get(path, {**params, "limit": 1, "cursor": cursor}).json()["documents"][0]["id"]
    if first != str(next_pk):
        sys.exit(f"the half-way cursor for {sort} {order} does not land where expected ({first} != {next_pk})")
    return cursor


# --- scenarios --------------------------------------------------------------------
@dataclass
class Scenario:
    """One request shape, measured `--requests` times."""

    name: str
    path: str
    params: dict = field(default_factory=dict)


def list_scenarios(api: Api, corpus: Corpus, args: argparse.Namespace) -> list[Scenario]:
    """First page, a page `--walk` rows deep and a page half-way, for both sorts; then scoping and filters."""
    path = f"/api/v1/workspaces/{corpus.big_id}/documents"
    scenarios = []
    for short, sort, order in (("updated", "updated_at", "desc"), ("title", "title", "asc")):
        base = {} if sort == "updated_at" else {"sort": sort, "order": order}
        scenarios.append(Scenario(f"list.{short}.first", path, base))
        if wanted(f"list.{short}.deep", args):
            cursor = walked_cursor(api, path, base, args.walk)
            scenarios.append(Scenario(f"list.{short}.deep{args.walk}", path, {**base, "cursor": cursor}))
        if wanted(f"list.{short}.half", args):
            cursor = midway_cursor(api, path, corpus.big_id, sort, order)
            scenarios.append(Scenario(f"list.{short}.half", path, {**base, "cursor": cursor}))
    scenarios.append(Scenario("list.small.first", f"/api/v1/workspaces/{corpus.small_id}/documents"))
    scenarios.append(Scenario("list.search.common", path, {"search": COMMON_WORD}))
    scenarios.append(Scenario("list.search.rare", path, {"search": RARE_WORD}))
    return [scenario for scenario in scenarios if wanted(scenario.name, args)]


def search_scenarios(corpus: Corpus, args: argparse.Namespace) -> list[Scenario]:
    """Each search over every readable workspace, then scoped to the big and to a small workspace."""
    scopes = (("all", {}), ("big", {"workspace_id": corpus.big_id}), ("small", {"workspace_id": corpus.small_id}))
    scenarios = [
        Scenario(f"search.{label.replace(' ', '-')}.{scope}", "/api/v1/search", {"q": q, **extra})
        for label, q in SEARCHES
        for scope, extra in scopes
    ]
    return [scenario for scenario in scenarios if wanted(scenario.name, args)]


def wanted(name: str, args: argparse.Namespace) -> bool:
    """Whether `--only` (a comma list of name fragments) selects a scenario or a family of them."""
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    return not parts or any(part in name or name in part for part in parts)


# --- EXPLAIN ----------------------------------------------------------------------
def query_label(sql: str) -> str:
    """A short name for a statement: what it computes, or the table its outer query reads."""
    outer = sql
    while "(" in outer and outer != (stripped := re.sub(r"\([^()]*\)", "", outer)):
        outer = stripped  # drop subqueries and calls, innermost first
    tables = re.findall(r'FROM "(\w+)"', outer)
    table = tables[0] if tables else "?"
    if "ts_headline" in sql:
        return "headlines"
    if table == "documents_document":
        if sql.startswith("SELECT COUNT(*)"):
            return "count"
        if "OVER ()" in sql:
            return "matches + total"
        return "ranks" if "ts_rank_cd" in sql else "page"
    return {"documents_documenttag": "tags", "workspaces_workspacemember": "membership"}.get(table, table)


def explain_request(token: str, scenario: Scenario) -> list[QueryPlan]:
    """Serve the scenario's request once in this process, capture its SQL and EXPLAIN every SELECT."""
    return served_selects(token, scenario, query_label)[1]


# --- measurement ------------------------------------------------------------------
@dataclass
class Result:
    """Latencies and costs of one scenario."""

    scenario: Scenario
    latencies: list[float]
    total: int | None
    rows: int
    body_bytes: int
    daphne_ms: float
    postgres_ms: float
    sessions: float
    machine_busy: float
    plans: list[QueryPlan]
    cold_latencies: list[float]

    def ms(self, fraction: float) -> float:
        """Nearest-rank percentile in milliseconds."""
        return percentile_ms(self.latencies, fraction)

    def cold_ms(self, fraction: float) -> float | None:
        """The same for the requests answered with nothing kept from earlier ones."""
        return percentile_ms(self.cold_latencies, fraction) if self.cold_latencies else None


def measure(api: Api, scenario: Scenario, daphne_pid: int, args: argparse.Namespace, redis_client) -> Result:
    """Warm up, send `--requests` sequential requests, then `--cold-requests` each with nothing kept."""
    plans = explain_request(api.token, scenario)
    api.fresh()
    timed_gets(api, scenario.path, scenario.params, args.warmup)
    before = Sample.take(daphne_pid)
    latencies, response = timed_gets(api, scenario.path, scenario.params, args.requests)
    after, body = Sample.take(daphne_pid), response.json()
    cold = first_asks(api, scenario.path, scenario.params, args.cold_requests, redis_client)
    return Result(
        scenario=scenario,
        latencies=latencies,
        total=body.get("total"),
        rows=len(body.get("documents", body.get("results", []))),
        body_bytes=len(response.content),
        plans=plans,
        cold_latencies=cold,
        **costs(before, after, args.requests, args.requests),
    )


# --- report -----------------------------------------------------------------------
def shown_params(params: dict) -> str:
    """Query string for printing, with the long opaque cursor abbreviated."""
    return "&".join(f"{key}={'<cursor>' if key == 'cursor' else value}" for key, value in params.items())


def print_result(result: Result, args: argparse.Namespace) -> None:
    """One scenario's figures, its SQL and, with --plans, the plans of its slow statements."""
    s, p95 = result.scenario, result.ms(0.95)
    print(f"\n[{s.name}]  GET {s.path}{'?' if s.params else ''}{shown_params(s.params)}")
    print(latency_line(result.latencies, args.warmup))
    if result.cold_latencies:
        print(first_ask_line(result.cold_latencies, "the kept totals, rankings and highlights"))
    print(f"  target       p95 < {TARGET_P95_MS:.0f} ms: {'met' if p95 < TARGET_P95_MS else 'MISSED'}")
    print(f"  answer       total {result.total}, {result.rows} rows, {result.body_bytes / 1024:.1f} KiB")
    print_costs(result)
    executing = sum(plan.execution_ms for plan in result.plans)
    planning = sum(plan.planning_ms for plan in result.plans)
    print(f"  SQL          {len(result.plans)} SELECTs: {executing:.1f} ms executing + {planning:.1f} ms planning")
    print_plans(result.plans, full=args.plans, width=26)


def print_header(args: argparse.Namespace, versions: dict[str, str], corpus: Corpus) -> None:
    """The machine, software, PostgreSQL settings, corpus and exact command."""
    load = f"{args.requests} sequential requests per scenario on one keep-alive connection, {args.warmup} warm-up"
    print_seeded_header(args, versions, corpus.lines, load)


def print_summary(results: list[Result]) -> None:
    """One line per scenario, for pasting."""
    heads = ("total", "p50", "p95", "p99", "mean", "SQL", "daphne")
    print(f"\n{'scenario':<26}" + "".join(f"{head:>8}" for head in heads) + f"{'pg':>7}  p95<50  {'first ask':>13}")
    print(f"{'':<26}{'':>8}{'ms':>8}{'ms':>8}{'ms':>8}{'ms':>8}{'ms':>8}{'cpu ms':>8}{'cpu ms':>7}  {'':6}  p50/p95 ms")
    for r in results:
        sql = sum(plan.execution_ms + plan.planning_ms for plan in r.plans)
        first = f"{r.cold_ms(0.5):.0f}/{r.cold_ms(0.95):.0f}" if r.cold_latencies else "-"
        print(
            f"{r.scenario.name:<26}{r.total if r.total is not None else '-':>8}{r.ms(0.5):>8.1f}{r.ms(0.95):>8.1f}"
            f"{r.ms(0.99):>8.1f}{statistics.fmean(r.latencies) * 1000:>8.1f}{sql:>8.1f}{r.daphne_ms:>8.1f}"
            f"{r.postgres_ms:>7.1f}  {'yes' if r.ms(0.95) < TARGET_P95_MS else 'NO':<6}  {first:>13}"
        )
    print(load_avg_line("at the end"))


# --- main -------------------------------------------------------------------------
def run(args: argparse.Namespace, env: dict[str, str], corpus: Corpus) -> list[Result]:
    """Start daphne, sign in, build the scenarios and measure each; daphne is stopped on the way out."""
    with one_daphne(env, "mdc-bench-docs-") as server:
        api = Api(server.port, args.timeout, BENCH_EMAIL, BENCH_PASSWORD)
        api.login()
        scenarios = list_scenarios(api, corpus, args) + search_scenarios(corpus, args)
        results = []
        redis_client = redis.Redis.from_url(args.redis_url)
        for scenario in scenarios:
            results.append(measure(api, scenario, server.process.pid, args, redis_client))
            print_result(results[-1], args)
        return results


def main(argv: list[str] | None = None) -> None:
    """Seed when needed, start daphne, measure, print."""
    seeded_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    main()
