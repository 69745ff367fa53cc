#!/usr/bin/env python3
"""Offline sync on PostgreSQL: a device's full bootstrap, an empty poll and a push of 100 edits; prints figures.

    python bench/sync_bootstrap.py [--documents 9000] [--folders 1000] [--requests 200] [--reseed]

It asserts nothing. See bench/README.md ("Sync bootstrap benchmark") for what is measured and how to read it.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from _common import (
    Api,
    RequestFailed,
    Sample,
    TextMaker,
    add_seed_options,
    costs,
    engine_urls,
    load_avg_line,
    one_daphne,
    percentile_ms,
    prepare_seeded,
    print_seeded_header,
    seeded_main,
    timed_gets,
    vacuum_analyze,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mdcreator_bench_sync"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
BENCH_EMAIL = "sync-bench@bench.mdcreator.test"
BENCH_PASSWORD = "Sync-Bootstrap-42x"
SEED_VERSION = 1
BIG_WORKSPACE = "Sync bench"
PUSH_WORKSPACE = "Sync bench push"
PUSH_SIZE = 100  # changes in one push: the most the endpoint takes (sync.serializers.PushSerializer)
PAGE_LIMIT = 500  # the largest page `since` serves (sync.serializers.SinceQuerySerializer)
FOLDER_SHARE = 0.8  # documents that sit in a folder (the others at the root)
FOLDER_DEPTH = 3  # levels of the seeded folder tree
ESTIMATE_EVERY = 200  # print progress, and the estimate of the full seed, every this many documents
FULL_DOCUMENTS, FULL_FOLDERS = 9000, 1000
DEVICE_ID = "bench-device-1"
CLIENT_VERSION = "bench-sync/1"
EDIT_MARK = "Edited offline on bench-device-1"  # the last line of a pushed document's content
SCENARIOS = ("bootstrap", "since-empty", "push-100")
TARGETS = {"bootstrap": 2.0, "since-empty": 0.010, "push-100": 1.0}  # seconds
SEED_TABLES = (
    "sync_synclog",
    "documents_document",
    "documents_folder",
    "documents_documentversion",
    "documents_documenttag",
)


# --- command line -----------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line; engine URLs default to the environment, then to localhost."""
    parser = argparse.ArgumentParser(
        description="Wall time of a full sync bootstrap (since from cursor 0, 500 a page), latency of an empty "
        "since, and wall time of a push of 100 document updates, against daphne on PostgreSQL and Redis.",
        epilog="Environment: DATABASE_URL (PostgreSQL; created if missing), REDIS_URL.",
    )
    parser.add_argument("--documents", type=int, default=FULL_DOCUMENTS, help=f"documents ({FULL_DOCUMENTS})")
    parser.add_argument("--folders", type=int, default=FULL_FOLDERS, help=f"folders ({FULL_FOLDERS})")
    parser.add_argument("--requests", type=int, default=200, help="measured sequential since-empty requests (200)")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured since-empty requests first (20)")
    parser.add_argument("--runs", type=int, default=5, help="measured full bootstraps (5)")
    parser.add_argument("--pushes", type=int, default=10, help=f"measured pushes of {PUSH_SIZE} updates (10)")
    add_seed_options(parser)
    parser.add_argument(
        "--only", default="", help=f"run only scenarios whose name contains one of these: {', '.join(SCENARIOS)}"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="per-request timeout in seconds (120)")
    args = parser.parse_args(argv)
    engine_urls(args, DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL)
    if args.documents < 1 or args.folders < 0 or args.requests < 1 or args.warmup < 0:
        parser.error("--documents and --requests must be >= 1, --folders and --warmup >= 0")
    if args.runs < 1 or args.pushes < 1:
        parser.error("--runs and --pushes must be >= 1")
    return args


def wanted(name: str, args: argparse.Namespace) -> bool:
    """Whether `--only` (a comma list of name fragments) selects a scenario."""
    parts = [part.strip() for part in args.only.split(",") if part.strip()]
    return not parts or any(part in name for part in parts)


# --- seeding ------------------------------------------------------------------------
def seed_marker(args: argparse.Namespace) -> str:
    """What the big workspace's description says once a seed with these parameters finished."""
    return f"bench-sync seed v{SEED_VERSION} documents={args.documents} folders={args.folders} seed={args.seed}"


@dataclass
class Rates:
    """Seconds per item written through each service, for the estimate of the full-size seed."""

    folder: float = 0.0
    document: float = 0.0

    def full_seed(self) -> float:
        """Seconds the default corpus (documents and folders) would take at these rates."""
        return FULL_FOLDERS * self.folder + (FULL_DOCUMENTS + PUSH_SIZE) * self.document


def seed_folders(args: argparse.Namespace, user, workspace, rates: Rates) -> list:
    """`--folders` folders through folder_create: a tenth at the root, the rest under earlier ones, 3 levels deep."""
    from documents.services.folders import folder_create

    rng, started = random.Random(args.seed + 1), time.perf_counter()
    folders, depth = [], {}
    roots = max(1, args.folders // 10)
    for index in range(args.folders):
        parents = [f for f in folders if depth[f.pk] < FOLDER_DEPTH] if index >= roots else []
        parent = rng.choice(parents) if parents else None
        data = {"name": f"Folder {index + 1}", "position": index, "parent_id": parent.pk if parent else None}
        folder = folder_create(actor=user, workspace=workspace, data=data)
        depth[folder.pk] = depth[parent.pk] + 1 if parent else 1
        folders.append(folder)
    elapsed = time.perf_counter() - started
    rates.folder = elapsed / max(1, len(folders))
    if folders:
        print(f"  {len(folders)} folders through folder_create in {elapsed:.1f} s ({rates.folder * 1000:.1f} ms each)")
    return folders


def seed_documents(args: argparse.Namespace, user, workspace, *, count: int, folders: list, rates: Rates | None):
    """`count` documents through document_create (tags, search vector, version 1 and sync entry as the API writes)."""
    from documents.services.documents import document_create

    maker, rng, started = TextMaker(args.seed + (0 if rates else 7)), random.Random(args.seed + 2), time.perf_counter()
    for index in range(count):
        title = maker.title()
        data = {"title": title, "content": maker.markdown(title, max(40, maker.length() // 2)), "tags": maker.tags()}
        if folders and rng.random() < FOLDER_SHARE:
            data["folder_id"] = rng.choice(folders).pk
        document_create(actor=user, workspace=workspace, data=data)
        done = index + 1
        if rates is not None and (done % ESTIMATE_EVERY == 0 or done == count):
            rates.document = (time.perf_counter() - started) / done
            print(
                f"  {done:>6} documents ({time.perf_counter() - started:.0f} s, {rates.document * 1000:.1f} ms each; "
                f"at this rate the full corpus ({FULL_DOCUMENTS} documents + {FULL_FOLDERS} folders) seeds in "
                f"about {rates.full_seed() / 60:.1f} min)",
                flush=True,
            )
    elapsed = time.perf_counter() - started
    print(f"  {count} documents in {workspace.name!r} in {elapsed:.1f} s ({elapsed * 1000 / count:.1f} ms each)")


def seed(args: argparse.Namespace) -> None:
    """The bench user, the big workspace (folders, documents) and the push workspace; then mark the seed done."""
    from accounts.services.users import user_create
    from workspaces.models import Workspace
    from workspaces.services.workspaces import workspace_create

    started = time.perf_counter()
    print(f"seeding {args.documents} documents and {args.folders} folders (seed {args.seed})", flush=True)
    user = user_create(email=BENCH_EMAIL, password=BENCH_PASSWORD, display_name="Sync bench", email_verified=True)
    big = workspace_create(owner=user, name=BIG_WORKSPACE)
    rates = Rates()
    folders = seed_folders(args, user, big, rates)
    seed_documents(args, user, big, count=args.documents, folders=folders, rates=rates)
    push = workspace_create(owner=user, name=PUSH_WORKSPACE)
    seed_documents(args, user, push, count=PUSH_SIZE, folders=[], rates=None)
    vacuum_analyze(SEED_TABLES)
    Workspace.objects.filter(pk=big.pk).update(description=seed_marker(args))
    print(
        f"seeded in {time.perf_counter() - started:.0f} s; the full corpus would take about "
        f"{rates.full_seed() / 60:.1f} min at these rates",
        flush=True,
    )


def prepare(args: argparse.Namespace) -> None:
    """Migrate, then seed unless a finished seed with the same parameters is there."""
    from accounts.models import User

    prepare_seeded(args, marker=seed_marker(args), seed=seed, leftovers=User.objects.exists)


# --- corpus facts -------------------------------------------------------------------
@dataclass
class Corpus:
    """Ids and counts the scenarios and the header need."""

    big_id: str
    push_id: str
    big_entries: int
    lines: list[str]


def describe_corpus() -> Corpus:
    """Documents, folders and sync entries of both workspaces, and the log's size on disk."""
    from django.db import connection
    from django.db.models import Count

    from documents.models import Document, Folder
    from sync.models import SyncLog
    from workspaces.models import Workspace

    big = Workspace.objects.get(description__startswith="bench-sync seed")
    push = Workspace.objects.get(name=PUSH_WORKSPACE, owner_id=big.owner_id)
    lines = []
    for workspace in (big, push):
        kinds = dict(
            SyncLog.objects.filter(workspace=workspace).values_list("entity_type").annotate(n=Count("pk")).order_by()
        )
        entries = sum(kinds.values())
        lines.append(
            f"{workspace.name:<16} {Document.objects.filter(workspace=workspace).count()} documents, "
            f"{Folder.objects.filter(workspace=workspace).count()} folders; sync log {entries} entries "
            f"({', '.join(f'{n} {kind}' for kind, n in sorted(kinds.items()))}), cursor {workspace.sync_seq}"
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_size_pretty(pg_table_size('sync_synclog')), pg_size_pretty(pg_indexes_size('sync_synclog')),"
            " (SELECT round(avg(pg_column_size(data))) FROM sync_synclog WHERE entity_type = 'document'),"
            " (SELECT round(avg(size_bytes)) FROM documents_document)"
        )
        table, indexes, data_size, doc_size = cursor.fetchone()
    lines.append(
        f"{'tables':<16} sync_synclog {table} + indexes {indexes}, a document entry's data {data_size} bytes "
        f"(stored); average document content {doc_size} bytes"
    )
    big_entries = SyncLog.objects.filter(workspace=big).count()
    return Corpus(big_id=str(big.pk), push_id=str(push.pk), big_entries=big_entries, lines=lines)


def since_path(workspace_id: str) -> str:
    return f"/api/v1/sync/workspaces/{workspace_id}/since"


def push_path(workspace_id: str) -> str:
    return f"/api/v1/sync/workspaces/{workspace_id}/push"


def entries_of(body: dict) -> list[dict]:
    """Every entry of a since page, whatever its group."""
    return [entry for value in body.values() if isinstance(value, list) for entry in value]


# --- SQL of one request -------------------------------------------------------------
def statement_kind(sql: str) -> str:
    """A short name for a statement: its verb and the first table it names."""
    verb = sql.lstrip("( ").split(None, 1)[0].upper()
    if verb in {"SAVEPOINT", "RELEASE", "ROLLBACK"}:
        return "savepoint"
    if verb in {"BEGIN", "COMMIT"}:
        return "begin/commit"
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
    return f"{verb} {table.group(1) if table else '?'}"


@dataclass
class Statements:
    """What one request runs, counted by serving it once in this process."""

    count: int
    seconds: float  # wall time of the in-process request (Django rounds each statement's own time to 1 ms)
    kinds: Counter

    def described(self) -> str:
        """`N SQL statements (kinds), served in-process in X ms`."""
        kinds = ", ".join(f"{n} {kind}" for kind, n in self.kinds.most_common())
        return f"{self.count} SQL statements ({kinds}), served in-process in {self.seconds * 1000:.1f} ms"


def capture(token: str, method: str, path: str, payload: dict) -> tuple[Statements, dict]:
    """Serve one request in this process, as daphne would, and count its SQL; returns the statements and the body."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as captured:
        if method == "GET":
            response = client.get(path, payload)
        else:
            response = client.post(path, json.dumps(payload), content_type="application/json")
    if response.status_code != 200:
        sys.exit(f"in-process {method} {path} answered {response.status_code}: {response.content[:300]!r}")
    queries, seconds = captured.captured_queries, time.perf_counter() - started
    statements = Statements(
        count=len(queries),
        seconds=seconds,
        kinds=Counter(statement_kind(query["sql"]) for query in queries),
    )
    return statements, response.json()


# --- measurement --------------------------------------------------------------------
@dataclass
class Result:
    """One scenario: the measured units (a bootstrap, a request or a push) and what they cost."""

    name: str
    unit: str
    seconds: list[float]
    requests_per_unit: float
    daphne_ms: float  # per unit
    postgres_ms: float  # per unit
    sessions: float  # per request
    machine_busy: float
    statements: Statements
    lines: list[str] = field(default_factory=list)

    def ms(self, fraction: float) -> float:
        """Nearest-rank percentile in milliseconds."""
        return percentile_ms(self.seconds, fraction)

    @property
    def judged(self) -> tuple[str, float]:
        """Which figure the target is judged on, and its value in seconds: p95 for requests, else the median."""
        if self.unit == "request":
            return "p95", self.ms(0.95) / 1000
        return "median", statistics.median(self.seconds)

    @property
    def met(self) -> bool:
        return self.judged[1] <= TARGETS[self.name]


@dataclass
class Bootstrap:
    """One walk from cursor 0 to the end of the log."""

    seconds: float
    pages: int
    entries: int
    contents: int
    body_bytes: int
    page_seconds: list[float]
    last_cursor: int


def bootstrap(api: Api, workspace_id: str, include_content: bool) -> Bootstrap:
    """Page through `since` from cursor 0, 500 at a time, until has_more is false; parse every page as a device would."""
    params = {"limit": PAGE_LIMIT, **({"include_content": "true"} if include_content else {})}
    cursor, pages, entries, contents, size, page_seconds = 0, 0, 0, 0, 0, []
    started = time.perf_counter()
    while True:
        sent = time.perf_counter()
        response = api.get(since_path(workspace_id), {"cursor": cursor, **params})
        body = response.json()
        page_seconds.append(time.perf_counter() - sent)
        page = entries_of(body)
        pages, entries, size = pages + 1, entries + len(page), size + len(response.content)
        contents += sum("content" in entry for entry in page)
        if body["cursor"] <= cursor and body["has_more"]:
            raise RequestFailed(f"since did not move past cursor {cursor}")
        cursor = body["cursor"]
        if not body["has_more"]:
            break
    return Bootstrap(time.perf_counter() - started, pages, entries, contents, size, page_seconds, cursor)


def measure_bootstrap(api: Api, corpus: Corpus, pid: int, args: argparse.Namespace) -> Result:
    """`--runs` full bootstraps without content, then one with include_content=true."""
    statements, first = capture(api.token, "GET", since_path(corpus.big_id), {"cursor": 0, "limit": PAGE_LIMIT})
    content_statements, _ = capture(
        api.token, "GET", since_path(corpus.big_id), {"cursor": 0, "limit": PAGE_LIMIT, "include_content": "true"}
    )
    api.fresh()
    before, runs = Sample.take(pid), []
    for _ in range(args.runs):
        runs.append(bootstrap(api, corpus.big_id, include_content=False))
    after = Sample.take(pid)
    pages = sum(run.pages for run in runs)
    api.fresh()
    content_before = Sample.take(pid)
    with_content = bootstrap(api, corpus.big_id, include_content=True)
    content_after = Sample.take(pid)
    content_cost = costs(content_before, content_after, 1, with_content.pages)
    run = runs[-1]
    page_seconds = [s for r in runs for s in r.page_seconds]
    lines = [
        f"  runs s       {'  '.join(f'{r.seconds:.2f}' for r in runs)}  (in order; the first is the coldest)",
        f"  walk         {run.pages} page(s) of <= {PAGE_LIMIT}, {run.entries} entries "
        f"(the log holds {corpus.big_entries}), {run.body_bytes / 1024 / 1024:.1f} MiB of JSON, last cursor "
        f"{run.last_cursor}{'' if run.entries == corpus.big_entries else '  <-- NOT THE WHOLE LOG'}",
        f"  page ms      p50 {percentile_ms(page_seconds, 0.5):.1f}  p95 {percentile_ms(page_seconds, 0.95):.1f}  "
        f"max {max(page_seconds) * 1000:.1f}  (request sent to body parsed, {len(page_seconds)} pages)",
        f"  first page   {len(entries_of(first))} entries, {statements.described()}",
        f"  with content {with_content.seconds:.2f} s, {with_content.pages} page(s), {with_content.entries} entries, "
        f"{with_content.contents} with content inlined, {with_content.body_bytes / 1024 / 1024:.1f} MiB; "
        f"target <= {TARGETS['bootstrap']:.0f} s (for information): "
        f"{'met' if with_content.seconds <= TARGETS['bootstrap'] else 'MISSED'}",
        f"               daphne {content_cost['daphne_ms']:.0f} ms, PostgreSQL {content_cost['postgres_ms']:.0f} ms "
        f"CPU; first page {content_statements.described()}",
    ]
    return Result(
        name="bootstrap",
        unit="bootstrap",
        seconds=[r.seconds for r in runs],
        requests_per_unit=pages / len(runs),
        statements=statements,
        lines=lines,
        **costs(before, after, len(runs), pages),
    )


def measure_since_empty(api: Api, corpus: Corpus, pid: int, args: argparse.Namespace) -> Result:
    """`--requests` sequential `since` calls with the workspace's latest cursor: nothing new."""
    from workspaces.models import Workspace

    cursor = Workspace.objects.filter(pk=corpus.big_id).values_list("sync_seq", flat=True).get()
    params = {"cursor": cursor, "limit": PAGE_LIMIT}
    statements, body = capture(api.token, "GET", since_path(corpus.big_id), params)
    if entries_of(body) or body["has_more"] or body["cursor"] != cursor:
        sys.exit(f"since with the latest cursor {cursor} is not empty: {json.dumps(body)[:300]}")
    api.fresh()
    timed_gets(api, since_path(corpus.big_id), params, args.warmup)
    before = Sample.take(pid)
    latencies, response = timed_gets(api, since_path(corpus.big_id), params, args.requests)
    after = Sample.take(pid)
    lines = [
        f"  answer       cursor {cursor}, 0 entries, {len(response.content)} bytes",
        f"  SQL          {statements.described()}",
    ]
    return Result(
        name="since-empty",
        unit="request",
        seconds=latencies,
        requests_per_unit=1,
        statements=statements,
        lines=lines,
        **costs(before, after, args.requests, args.requests),
    )


def push_body(state: dict, run: str) -> tuple[dict, dict]:
    """100 document updates, each against the hash the device last saw; returns the body and the new contents."""
    changes, contents = [], {}
    for document_id, (content, base_hash) in state.items():
        change_id = uuid.uuid4()
        kept = content.removesuffix("\n").rsplit("\n", 1)[0] if EDIT_MARK in content else content.removesuffix("\n")
        contents[document_id] = f"{kept}\n{EDIT_MARK}, {run}, change {change_id.hex[:8]}.\n"
        changes.append({
            "change_id": str(change_id),
            "entity_type": "document",
            "operation": "update",
            "entity_id": document_id,
            "base_content_hash": base_hash,
            "data": {"content": contents[document_id]},
        })
    return {"device_id": DEVICE_ID, "client_version": CLIENT_VERSION, "changes": changes}, contents


def apply_results(state: dict, contents: dict, body: dict) -> Counter:
    """Take the new hashes from a push's results (checked against the content sent); count the outcomes."""
    from documents.content import content_hash

    outcomes = Counter()
    for result in body["results"]:
        document_id, status = result["entity_id"], result["status"]
        new_hash = result.get("result", {}).get("content_hash")
        if status == "success" and new_hash != content_hash(contents[document_id]):
            status = "success with a wrong hash"
        outcomes[status] += 1
        if status == "success":
            state[document_id] = (contents[document_id], new_hash)
    return outcomes


def measure_push(api: Api, corpus: Corpus, pid: int, args: argparse.Namespace) -> Result:
    """One push served in-process (counts its SQL), one unmeasured over HTTP, then `--pushes` measured ones."""
    from documents.models import Document

    documents = Document.objects.filter(workspace_id=corpus.push_id, deleted=False).order_by("pk")
    state = {
        str(pk): (content, digest) for pk, content, digest in documents.values_list("pk", "content", "content_hash")
    }
    if len(state) != PUSH_SIZE:
        sys.exit(f"the push workspace holds {len(state)} live documents, not {PUSH_SIZE}")
    body, contents = push_body(state, "in-process")
    statements, answer = capture(api.token, "POST", push_path(corpus.push_id), body)
    outcomes = apply_results(state, contents, answer)
    api.fresh()
    body, contents = push_body(state, "warm-up")
    outcomes += apply_results(state, contents, api.post(push_path(corpus.push_id), body).json())
    if outcomes != Counter(success=2 * PUSH_SIZE):
        sys.exit(f"unmeasured pushes did not all succeed: {dict(outcomes)}")
    before, seconds, outcomes, sizes = Sample.take(pid), [], Counter(), []
    for run in range(args.pushes):
        body, contents = push_body(state, f"run {run + 1}")
        payload = json.dumps(body).encode()
        sizes.append(len(payload))
        started = time.perf_counter()
        response = api.http.post(
            push_path(corpus.push_id), content=payload, headers={"Content-Type": "application/json"}
        )
        seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RequestFailed(f"push answered {response.status_code}: {response.text[:500]}")
        outcomes += apply_results(state, contents, response.json())
    after = Sample.take(pid)
    kinds = statements.kinds.most_common()
    per_change = ", ".join(f"{n // PUSH_SIZE} {kind}" for kind, n in kinds if n >= PUSH_SIZE)
    per_push = ", ".join(f"{n % PUSH_SIZE} {kind}" for kind, n in kinds if n % PUSH_SIZE)
    lines = [
        f"  outcomes     {', '.join(f'{n} {status}' for status, n in sorted(outcomes.items()))} "
        f"(of {args.pushes * PUSH_SIZE} changes)",
        f"  per change   {statistics.median(seconds) * 1000 / PUSH_SIZE:.1f} ms wall (median push / {PUSH_SIZE})",
        f"  request      {statistics.fmean(sizes) / 1024:.0f} KiB of JSON a push",
        f"  SQL          {statements.count} statements a push ({statements.count / PUSH_SIZE:.1f} a change), "
        f"served in-process in {statements.seconds * 1000:.0f} ms",
        f"  a change     {per_change}",
        f"  once a push  {per_push or 'nothing'}",
    ]
    return Result(
        name="push-100",
        unit="push",
        seconds=seconds,
        requests_per_unit=1,
        statements=statements,
        lines=lines,
        **costs(before, after, args.pushes, args.pushes),
    )


# --- report -------------------------------------------------------------------------
def fmt_s(seconds: float) -> str:
    """Seconds under one as milliseconds, else seconds."""
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def print_result(result: Result) -> None:
    """One scenario's figures."""
    values = result.seconds
    print(f"\n[{result.name}]")
    if result.unit == "request":
        print(
            f"  latency ms   p50 {result.ms(0.50):.1f}  p95 {result.ms(0.95):.1f}  p99 {result.ms(0.99):.1f}  "
            f"mean {statistics.fmean(values) * 1000:.1f}  max {max(values) * 1000:.1f}  "
            f"({len(values)} sequential requests)"
        )
    else:
        print(
            f"  wall time    min {fmt_s(min(values))}  median {fmt_s(statistics.median(values))}  "
            f"max {fmt_s(max(values))}  ({len(values)} {'pushes' if result.unit == 'push' else result.unit + 's'})"
        )
    label, value = result.judged
    target = TARGETS[result.name]
    print(f"  target       {label} <= {fmt_s(target)}: {'met' if result.met else 'MISSED'} ({fmt_s(value)})")
    for line in result.lines:
        print(line)
    n = result.requests_per_unit
    per = f" ({n:.0f} requests: daphne {result.daphne_ms / n:.1f} ms a request)" if n != 1 else ""
    print(
        f"  server CPU   daphne {result.daphne_ms:.1f} ms, PostgreSQL {result.postgres_ms:.1f} ms a {result.unit}"
        f"{per} (PostgreSQL: all its processes); machine {result.machine_busy:.0%} busy"
    )
    print(f"  connections  {result.sessions:.2f} new PostgreSQL sessions per request")
    print("  " + load_avg_line("at the end"))


def print_header(args: argparse.Namespace, versions: dict[str, str], corpus: Corpus) -> None:
    """The machine, software, PostgreSQL settings, corpus and exact command."""
    load = (
        f"one keep-alive connection, sequential: {args.runs} bootstraps + 1 with content, "
        f"{args.requests} empty since after {args.warmup} warm-up, {args.pushes} pushes of {PUSH_SIZE} after 1 warm-up"
    )
    print_seeded_header(args, versions, corpus.lines, load)


def print_summary(results: list[Result]) -> None:
    """One line per scenario, for pasting."""
    print(
        f"\n{'scenario':<13}{'unit':<10}{'n':>4}{'min':>10}{'p50':>10}{'p95':>10}{'max':>10}{'reqs':>6}"
        f"{'daphne':>9}{'pg':>9}{'SQL':>6}  target"
    )
    print(f"{'':<13}{'':<10}{'':>4}{'':>10}{'':>10}{'':>10}{'':>10}{'/unit':>6}{'cpu ms':>9}{'cpu ms':>9}{'/req':>6}")
    for r in results:
        label, value = r.judged
        target = f"{label} <= {fmt_s(TARGETS[r.name])}: {'ok' if r.met else 'NO'}"
        print(
            f"{r.name:<13}{r.unit:<10}{len(r.seconds):>4}{fmt_s(min(r.seconds)):>10}{fmt_s(statistics.median(r.seconds)):>10}"
            f"{fmt_s(r.ms(0.95) / 1000):>10}{fmt_s(max(r.seconds)):>10}{r.requests_per_unit:>6.0f}"
            f"{r.daphne_ms:>9.1f}{r.postgres_ms:>9.1f}{r.statements.count:>6}  {target}"
        )
    print(load_avg_line("at the end"))


# --- main ---------------------------------------------------------------------------
MEASURES = {"bootstrap": measure_bootstrap, "since-empty": measure_since_empty, "push-100": measure_push}


def run(args: argparse.Namespace, env: dict[str, str], corpus: Corpus) -> list[Result]:
    """Start daphne, sign in, measure each scenario; daphne is stopped on the way out."""
    with one_daphne(env, "mdc-bench-sync-") as server:
        api = Api(server.port, args.timeout, BENCH_EMAIL, BENCH_PASSWORD)
        api.login()
        # The first request served in this process pays for imports; keep that out of the in-process times.
        capture(api.token, "GET", since_path(corpus.big_id), {"cursor": 0, "limit": 1})
        results = []
        for name in SCENARIOS:
            if wanted(name, args):
                results.append(MEASURES[name](api, corpus, server.process.pid, args))
                print_result(results[-1])
        return results


def main(argv: list[str] | None = None) -> None:
    """Seed when needed, start daphne, measure, print."""
    seeded_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    main()
