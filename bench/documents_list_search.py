#!/usr/bin/env python3
"""Latency of the document list and of search over 100,000 documents on PostgreSQL; prints figures, asserts nothing.

    python bench/documents_list_search.py [--documents 100000] [--requests 200] [--reseed]

See bench/README.md ("Document list and search benchmark") for what is measured and how to read it.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import platform
import random
import re
import shlex
import signal
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import redis
from auth_throughput import (
    BASE_DIR,
    CLK_TCK,
    cpu_model,
    ensure_database,
    free_ports,
    load_average,
    machine_cpu_ticks,
    masked,
    memory_total,
    percentile,
    process_cpu_seconds,
    server_env,
    software_versions,
    start_servers,
    stop_servers,
    wait_healthy,
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
ZIPF_EXPONENT = 1.0
VOCABULARY_SIZE = 20_000
# Ranked, most frequent first; the english configuration drops the stop words at the top.
WORDS = """
the of and to a in is for that on with as it be this by are from or at an not we you will
document team user page editor server client data version file change update project design review meeting
note issue release feature time work model test build support plan code system content search list
workspace folder comment share access account setting option deploy request response error message image
table link section draft staging summary question answer idea customer product market goal result report
offline status task owner member role cache database query index schema migration backup restore
sync event stream queue worker job schedule window device mobile desktop browser network storage
upload download export import format markdown mindmap presentation slide node edge layout theme color
font style header footer title body paragraph sentence word letter number value field record row column
chart graph metric dashboard alert monitor log trace debug profile memory disk cpu thread process
session token password login logout signup invite permission policy rule limit quota price plan invoice
payment refund contract legal privacy security audit compliance risk incident outage postmortem timeline
roadmap milestone sprint backlog estimate priority label tag filter sort order group merge branch commit
review approve reject comment reply mention notify email digest weekly daily monthly quarter year
launch beta alpha preview stable legacy deprecated upgrade rollout rollback flag experiment variant
latency throughput bandwidth capacity scale shard replica cluster region zone failover health probe
config environment variable secret key certificate domain route proxy gateway balancer endpoint
interface component module package library framework runtime compiler parser renderer bundle asset
animation transition gesture keyboard shortcut cursor selection clipboard undo redo history snapshot
collaboration presence awareness conflict resolution merge patch diff delta vector clock lamport
research interview survey persona journey onboarding tutorial guide handbook glossary reference
""".split()
TAGS = (
    "design backend frontend meeting-notes roadmap rfc bug research ops onboarding security release api "
    "mobile desktop ai sync collab billing docs draft archive q1 q2 q3 q4 customer infra perf ux"
).split()
# Sentences planted in a known share of documents so the searches have a rare word and a real phrase.
PLANTED = (
    (0.001, "The build runners moved to Kubernetes."),
    (0.02, "Offline sync keeps edits until the device reconnects."),
)
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
    parser.add_argument("--seed", type=int, default=42, help="random seed of the corpus (42)")
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed again")
    parser.add_argument("--seed-only", action="store_true", help="seed (when needed) and stop")
    parser.add_argument("--only", default="", help="run only scenarios whose name contains one of these (comma list)")
    parser.add_argument("--plans", action="store_true", help="also print the full EXPLAIN of slow queries")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-request timeout in seconds (60)")
    args = parser.parse_args(argv)
    args.database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    args.redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if args.documents < 1000 or args.requests < 1 or args.warmup < 0 or args.walk < 50 or args.cold_requests < 0:
        parser.error("--documents must be >= 1000, --requests >= 1, --warmup >= 0, --walk >= 50, --cold-requests >= 0")
    return args


def setup_django(env: dict[str, str]) -> None:
    """Configure Django in this process with the server's environment (for seeding and EXPLAIN)."""
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def drop_database(url: str) -> None:
    """Drop the database of `url` (the bench's own), disconnecting its sessions."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        name = sql.Identifier(parts.path.lstrip("/"))
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    print(f"dropped database {parts.path.lstrip('/')}")


# --- synthetic text -------------------------------------------------------------
def tail_words(count: int, rng: random.Random, taken: set[str]) -> list[str]:
    """`count` made-up pronounceable words for the long tail of the vocabulary."""
    onsets = "b c d f g h j k l m n p r s t v z br cl dr fl gr pl st tr".split()
    vowels = "a e i o u ai ea io ou".split()
    codas = ["", "n", "r", "s", "l", "m", "x", "nd", "st"]
    words: dict[str, None] = {}
    while len(words) < count:
        word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(rng.randint(2, 3))) + rng.choice(codas)
        if word not in taken:
            words[word] = None
    return list(words)


class TextMaker:
    """Deterministic titles, markdown and tags drawn from a Zipf-weighted vocabulary."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.words = WORDS + tail_words(VOCABULARY_SIZE - len(WORDS), random.Random(seed + 1), set(WORDS))
        self.cum = list(itertools.accumulate(rank**-ZIPF_EXPONENT for rank in range(1, len(self.words) + 1)))
        self.title_words = WORDS[25:]
        self.tag_cum = list(itertools.accumulate(rank**-ZIPF_EXPONENT for rank in range(1, len(TAGS) + 1)))

    def pick(self, count: int) -> list[str]:
        """`count` words, frequent ones far more often than rare ones."""
        return self.rng.choices(self.words, cum_weights=self.cum, k=count)

    def title(self) -> str:
        """Two to six words, capitalised."""
        return " ".join(self.rng.choices(self.title_words, k=self.rng.randint(2, 6))).capitalize()

    def length(self) -> int:
        """Words in a document body: log-normal, median about 330, long tail."""
        return max(20, min(20_000, int(self.rng.lognormvariate(5.8, 0.9))))

    def tags(self) -> list[str]:
        """Zero to five distinct tags, popular ones more often."""
        wanted = self.rng.choices(range(6), weights=(25, 30, 20, 12, 8, 5))[0]
        return list(dict.fromkeys(self.rng.choices(TAGS, cum_weights=self.tag_cum, k=wanted)))

    def markdown(self, title: str, length: int) -> str:
        """A markdown body of about `length` words: headings, paragraphs, lists, code."""
        words, blocks, at = self.pick(length), [f"# {title}"], 0
        while at < len(words):
            roll = self.rng.random()
            size = self.rng.randint(2, 5) if roll < 0.08 else self.rng.randint(12, 90)
            blocks.append(self._block(roll, words[at : at + size]))
            at += size
        for share, sentence in PLANTED:
            if self.rng.random() < share:
                blocks.insert(self.rng.randint(1, len(blocks)), sentence)
        return "\n\n".join(blocks) + "\n"

    def _block(self, roll: float, chunk: list[str]) -> str:
        if roll < 0.08:
            return "## " + " ".join(chunk).capitalize()
        if roll < 0.22:
            return "\n".join("- " + " ".join(chunk[i : i + 6]) for i in range(0, len(chunk), 6))
        if roll < 0.26:
            return "```\n" + "\n".join(" ".join(chunk[i : i + 5]) for i in range(0, len(chunk), 5)) + "\n```"
        sentences, at = [], 0
        while at < len(chunk):
            size = self.rng.randint(6, 16)
            sentences.append(" ".join(chunk[at : at + size]).capitalize() + ".")
            at += size
        return " ".join(sentences)


# --- seeding ----------------------------------------------------------------------
def seed_marker(args: argparse.Namespace) -> str:
    """What the big workspace's description says once a seed with these parameters finished."""
    return f"bench-docs seed v{SEED_VERSION} documents={args.documents} seed={args.seed}"


def seeded(args: argparse.Namespace) -> bool:
    """Whether a finished seed with these parameters is in the database."""
    from workspaces.models import Workspace

    return Workspace.objects.filter(description=seed_marker(args)).exists()


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


def vacuum_analyze() -> None:
    """VACUUM (ANALYZE) the seeded tables: fresh statistics and visibility map, as after autovacuum."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in SEED_TABLES:
            cursor.execute(f"VACUUM (ANALYZE) {table}")


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
    vacuum_analyze()
    Workspace.objects.filter(pk=workspaces[0].pk).update(description=seed_marker(args))
    print(f"seeded in {time.perf_counter() - started:.0f} s ({stars} stars)", flush=True)


def prepare(args: argparse.Namespace) -> None:
    """Migrate, then seed unless a finished seed with the same parameters is there."""
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
    if seeded(args):
        print("seed found: reusing it (--reseed to start again)")
        return
    if corpus_size() > 0:
        # An unfinished seed, or one with other parameters: start from an empty database.
        connections.close_all()
        drop_database(args.database_url)
        ensure_database(args.database_url)
        call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
    seed(args)


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


def server_facts() -> dict[str, str]:
    """PostgreSQL settings that decide plans and their cost."""
    from django.db import connection

    names = ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit")
    facts = {}
    with connection.cursor() as cursor:
        for name in (*names, "max_parallel_workers_per_gather"):
            cursor.execute(f"SHOW {name}")
            facts[name] = cursor.fetchone()[0]
    return facts


# --- HTTP client ------------------------------------------------------------------
class Api:
    """A keep-alive HTTP client signed in as the bench user with a real login."""

    def __init__(self, port: int, timeout: float):
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=timeout)
        self.token, self.signed_at = "", 0.0

    def login(self) -> None:
        """POST auth/login and keep the access token."""
        response = self.http.post("/api/v1/auth/login", json={"email": BENCH_EMAIL, "password": BENCH_PASSWORD})
        if response.status_code != 200:
            sys.exit(f"login failed: {response.status_code} {response.text[:300]}")
        self.token = response.json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.signed_at = time.monotonic()

    def fresh(self) -> None:
        """Sign in again when the 15-minute access token is getting old (never inside a measured loop)."""
        if time.monotonic() - self.signed_at > 480:
            self.login()

    def get(self, path: str, params: dict) -> httpx.Response:
        """One GET that must answer 200."""
        response = self.http.get(path, params=params)
        if response.status_code != 200:
            raise RequestFailed(f"GET {path} {params} answered {response.status_code}: {response.text[:500]}")
        return response


class RequestFailed(Exception):
    """A request that did not answer 200; the run stops and shows what daphne printed."""


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
@dataclass
class QueryPlan:
    """One SQL statement of a request and what EXPLAIN (ANALYZE, BUFFERS) said about it."""

    label: str
    execution_ms: float
    planning_ms: float
    jit_ms: float | None
    indexes: list[str]
    seq_scans: list[str]
    buffers: int
    sql: str
    settings: str | None = None


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


def plan_nodes(node: dict):
    """Every node of a JSON plan tree."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def explain(sql: str, settings: str | None = None) -> QueryPlan:
    """Run EXPLAIN (ANALYZE, BUFFERS) on one captured statement, under the SET LOCAL it ran with."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if settings:
            cursor.execute(settings)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        top = cursor.fetchone()[0][0]
    nodes = list(plan_nodes(top["Plan"]))
    return QueryPlan(
        label=query_label(sql),
        execution_ms=top["Execution Time"],
        planning_ms=top["Planning Time"],
        jit_ms=top.get("JIT", {}).get("Timing", {}).get("Total"),
        indexes=sorted({node["Index Name"] for node in nodes if "Index Name" in node}),
        seq_scans=sorted({node["Relation Name"] for node in nodes if node["Node Type"] == "Seq Scan"}),
        buffers=top["Plan"].get("Shared Hit Blocks", 0) + top["Plan"].get("Shared Read Blocks", 0),
        sql=sql,
        settings=settings,
    )


def explain_request(token: str, scenario: Scenario) -> list[QueryPlan]:
    """Serve the scenario's request once in this process, capture its SQL and EXPLAIN every SELECT."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    cache.clear()  # the statements of a first request, not of one answered from kept totals and rankings
    with CaptureQueriesContext(connection) as captured:
        response = client.get(scenario.path, scenario.params)
    if response.status_code != 200:
        sys.exit(f"in-process {scenario.name} answered {response.status_code}: {response.content[:300]!r}")
    plans, settings = [], None
    for sql in (query["sql"] for query in captured.captured_queries):
        if sql.upper().startswith("SET LOCAL"):
            settings = sql  # the planner settings the next statement ran under (documents.search.index_driven)
        elif sql.lstrip().upper().startswith("SELECT"):
            plans.append(explain(sql, settings))
            settings = None
    return plans


def full_plan(sql: str, settings: str | None = None) -> str:
    """The text EXPLAIN (ANALYZE, BUFFERS) of a statement."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if settings:
            cursor.execute(settings)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


# --- measurement ------------------------------------------------------------------
def postgres_cpu_seconds() -> float:
    """CPU of all PostgreSQL processes: live ones, plus exited backends (charged to the postmaster when reaped)."""
    stats = {}
    for path in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError):
            text = path.read_text()
            if text[text.index("(") + 1 : text.rindex(")")] == "postgres":
                stats[int(path.parent.name)] = [int(value) for value in text.rsplit(")", 1)[1].split()[1:15]]
    ticks = 0
    for fields in stats.values():
        ticks += fields[10] + fields[11]  # utime, stime
        if fields[0] not in stats:  # the postmaster: its parent is not PostgreSQL
            ticks += fields[12] + fields[13]  # cutime, cstime of the children it reaped
    return ticks / CLK_TCK


def postgres_sessions() -> int:
    """Sessions opened on this database so far (pg_stat_database, PostgreSQL 14+)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


@dataclass(frozen=True)
class Sample:
    """CPU counters and the session count at one instant."""

    daphne: float
    postgres: float
    sessions: int
    busy: int
    ticks: int

    @classmethod
    def take(cls, daphne_pid: int) -> Sample:
        """Read daphne's CPU, PostgreSQL's CPU and sessions, and the machine's jiffies."""
        busy, ticks = machine_cpu_ticks()
        return cls(process_cpu_seconds(daphne_pid), postgres_cpu_seconds(), postgres_sessions(), busy, ticks)


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
        return percentile(sorted(self.latencies), fraction) * 1000

    def cold_ms(self, fraction: float) -> float | None:
        """The same for the requests answered with nothing kept from earlier ones."""
        return percentile(sorted(self.cold_latencies), fraction) * 1000 if self.cold_latencies else None


KEPT_RESULTS = ("*documents:total:*", "*search:ranking:*", "*search:headline:*")


def forget_kept_results(redis_client) -> None:
    """Delete the list totals and search rankings the server keeps in the cache (and nothing else)."""
    for pattern in KEPT_RESULTS:
        keys = list(redis_client.scan_iter(match=pattern, count=1000))
        if keys:
            redis_client.delete(*keys)


def measure(api: Api, scenario: Scenario, daphne_pid: int, args: argparse.Namespace, redis_client) -> Result:
    """Warm up, send `--requests` sequential requests, then `--cold-requests` each with nothing kept."""
    plans = explain_request(api.token, scenario)
    api.fresh()
    for _ in range(args.warmup):
        api.get(scenario.path, scenario.params)
    before = Sample.take(daphne_pid)
    latencies = []
    for _ in range(args.requests):
        started = time.perf_counter()
        response = api.get(scenario.path, scenario.params)
        latencies.append(time.perf_counter() - started)
    after, body, n = Sample.take(daphne_pid), response.json(), args.requests
    cold = []
    for _ in range(args.cold_requests):
        forget_kept_results(redis_client)
        started = time.perf_counter()
        api.get(scenario.path, scenario.params)
        cold.append(time.perf_counter() - started)
    return Result(
        scenario=scenario,
        latencies=latencies,
        total=body.get("total"),
        rows=len(body.get("documents", body.get("results", []))),
        body_bytes=len(response.content),
        daphne_ms=(after.daphne - before.daphne) * 1000 / n,
        postgres_ms=(after.postgres - before.postgres) * 1000 / n,
        sessions=(after.sessions - before.sessions) / n,
        machine_busy=(after.busy - before.busy) / max(1, after.ticks - before.ticks),
        plans=plans,
        cold_latencies=cold,
    )


# --- report -----------------------------------------------------------------------
def shown_params(params: dict) -> str:
    """Query string for printing, with the long opaque cursor abbreviated."""
    return "&".join(f"{key}={'<cursor>' if key == 'cursor' else value}" for key, value in params.items())


def plan_line(plan: QueryPlan) -> str:
    """One statement: execution time, name, indexes or sequential scans, JIT, buffers."""
    how = [f"index {', '.join(plan.indexes)}" if plan.indexes else "no index"]
    if plan.seq_scans:
        how.append(f"seq scan {', '.join(plan.seq_scans)}")
    if plan.jit_ms is not None:
        how.append(f"JIT {plan.jit_ms:.0f} ms")
    how.append(f"plan {plan.planning_ms:.1f} ms, {plan.buffers} buffers")
    return f"    {plan.execution_ms:8.1f} ms  {plan.label:<26} {'; '.join(how)}"


def print_result(result: Result, args: argparse.Namespace) -> None:
    """One scenario's figures, its SQL and, with --plans, the plans of its slow statements."""
    s, p95 = result.scenario, result.ms(0.95)
    print(f"\n[{s.name}]  GET {s.path}{'?' if s.params else ''}{shown_params(s.params)}")
    print(
        f"  latency ms   p50 {result.ms(0.50):.1f}  p95 {p95:.1f}  p99 {result.ms(0.99):.1f}  "
        f"mean {statistics.fmean(result.latencies) * 1000:.1f}  max {max(result.latencies) * 1000:.1f}  "
        f"({len(result.latencies)} sequential requests after {args.warmup} warm-up)"
    )
    if result.cold_latencies:
        print(
            f"  first ask    p50 {result.cold_ms(0.50):.1f}  p95 {result.cold_ms(0.95):.1f}  "
            f"max {max(result.cold_latencies) * 1000:.1f}  ({len(result.cold_latencies)} requests, each after "
            "deleting the kept totals, rankings and highlights)"
        )
    print(f"  target       p95 < {TARGET_P95_MS:.0f} ms: {'met' if p95 < TARGET_P95_MS else 'MISSED'}")
    print(f"  answer       total {result.total}, {result.rows} rows, {result.body_bytes / 1024:.1f} KiB")
    print(
        f"  server CPU   daphne {result.daphne_ms:.1f} ms/request, PostgreSQL {result.postgres_ms:.1f} ms/request "
        f"(all its processes); machine {result.machine_busy:.0%} busy"
    )
    print(f"  connections  {result.sessions:.2f} new PostgreSQL sessions per request")
    executing = sum(plan.execution_ms for plan in result.plans)
    planning = sum(plan.planning_ms for plan in result.plans)
    print(f"  SQL          {len(result.plans)} SELECTs: {executing:.1f} ms executing + {planning:.1f} ms planning")
    for plan in result.plans:
        print(plan_line(plan))
    for plan in result.plans if args.plans else []:
        if plan.execution_ms >= 5:
            lines = full_plan(plan.sql, plan.settings).splitlines()
            print(f"\n  plan of {plan.label}:\n" + "\n".join("    " + line for line in lines))


def print_header(args: argparse.Namespace, versions: dict[str, str], corpus: Corpus) -> None:
    """The machine, software, PostgreSQL settings, corpus and exact command."""
    command = shlex.join(sys.orig_argv)
    print(f"\nmachine     {os.cpu_count()} CPUs, {cpu_model()}, {memory_total()} RAM, {platform.platform()}")
    print("software    " + ", ".join(f"{name} {value}" for name, value in versions.items()))
    print("postgres    " + ", ".join(f"{name} {value}" for name, value in server_facts().items()))
    print(f"command     DATABASE_URL={masked(args.database_url)} REDIS_URL={masked(args.redis_url)} {command}")
    print(
        f"load        {args.requests} sequential requests per scenario on one keep-alive connection, "
        f"{args.warmup} warm-up"
    )
    print(f"load avg    {load_average()} (1, 5, 15 min) before starting")
    for line in corpus.lines:
        print(f"corpus      {line}")


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
    print(f"load avg    {load_average()} (1, 5, 15 min) at the end")


# --- shared by the benchmarks over a seeded database ------------------------------
@contextlib.contextmanager
def one_daphne(env: dict[str, str], prefix: str):
    """One daphne for a benchmark run: healthy before the body runs, stopped after it; a failed request exits
    with what daphne printed."""
    with tempfile.TemporaryDirectory(prefix=prefix) as log_dir:
        server = start_servers(free_ports(1), env, Path(log_dir))[0]
        try:
            wait_healthy(server)
            yield server
        except RequestFailed as failure:
            sys.exit(f"{failure}\n\ndaphne printed (access lines left out):\n{server.problems()}")
        finally:
            stop_servers([server])


def seeded_main(script, argv: list[str] | None) -> None:
    """The `main` of a benchmark over a seeded database; `script` is its module, which provides `parse_args`,
    `prepare` (seed when needed), `describe_corpus`, `print_header`, `run` and `print_summary`."""
    args = script.parse_args(argv)
    # A plain SIGTERM should still stop daphne (one_daphne's finally).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    env = server_env(args)
    if args.reseed:
        drop_database(args.database_url)
    versions = software_versions(args)
    setup_django(env)
    script.prepare(args)
    corpus = script.describe_corpus()
    script.print_header(args, versions, corpus)
    if args.seed_only:
        return
    script.print_summary(script.run(args, env, corpus))


# --- main -------------------------------------------------------------------------
def run(args: argparse.Namespace, env: dict[str, str], corpus: Corpus) -> list[Result]:
    """Start daphne, sign in, build the scenarios and measure each; daphne is stopped on the way out."""
    with one_daphne(env, "mdc-bench-docs-") as server:
        api = Api(server.port, args.timeout)
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
