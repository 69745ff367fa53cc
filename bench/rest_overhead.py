#!/usr/bin/env python3
"""REST reads against a bare Django view served by the same daphne process, with wrk; prints figures.

    python bench/rest_overhead.py [--runs 3] [--seconds 10] [--connections 16] [--documents 60]

One daphne serves `bench.bare_asgi:application`: the project's application, plus a plain Django JSON view with
no middleware behind Django's stock ASGI handler and behind the project's own. wrk loads each of

  * bare            GET /bench/bare                                   (the floor the targets are set against)
  * bare-onehop     GET /bench/bare-onehop, the same view through the project's HTTP handler
  * healthz         GET /healthz                                      (no target)
  * auth/me         GET /api/v1/auth/me                               (target >= 60 % of bare)
  * documents/{id}  GET /api/v1/documents/{id}, a ~2 KB markdown document   (target >= 50 %)
  * list-50         GET /api/v1/workspaces/{id}/documents?limit=50    (target >= 25 %)

with 16 connections, `--runs` rounds interleaved (the median is reported), then bare, bare-onehop and healthz on
one connection. Per scenario: requests per second, p50/p99 latency from wrk, the ratio to the bare view, daphne's
and PostgreSQL's CPU per 1000 requests, and the SQL statements and Redis round trips of one request (served
in this process). Every figure is printed with the machine's state. It asserts nothing; see bench/README.md
("REST overhead benchmark").
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
from _common import (
    RequestFailed,
    Server,
    TextMaker,
    load_average,
    load_avg_line,
    login_token,
    machine_cpu_ticks,
    one_daphne,
    postgres_cpu_seconds,
    print_machine,
    process_cpu_seconds,
    scenario_list,
    server_env,
    setup_django,
    software_versions,
    stop_on_sigterm,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mdcreator_bench_rest"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
BENCH_EMAIL = "rest-bench@bench.mdcreator.test"
BENCH_PASSWORD = "Rest-Overhead-42x"
WORKSPACE_NAME = "REST bench"
APPLICATION = "bench.bare_asgi:application"
BARE_URLCONF = "bench.bare_urls"
CONTENT_WORDS = 300  # about 2 KB of markdown per document
TARGETS = {"auth/me": 0.60, "documents/{id}": 0.50, "list-50": 0.25}  # share of the bare view's req/s
SCENARIOS = ("bare", "bare-onehop", "healthz", "auth/me", "documents/{id}", "list-50")
WRK_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}  # to milliseconds


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="interleaved rounds of every scenario; medians (3)")
    parser.add_argument("--seconds", type=int, default=10, help="seconds of one wrk run (10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured wrk seconds per scenario first (2)")
    parser.add_argument(
        "--single",
        default="bare,bare-onehop,healthz",
        help="scenarios also run on one connection, for latency; empty for none (bare,bare-onehop,healthz)",
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma list out of {', '.join(SCENARIOS)}")
    parser.add_argument("--documents", type=int, default=60, help="documents in the listed workspace (60)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout of wrk and checks (30)")
    args = parser.parse_args(argv)
    args.scenarios = scenario_list(parser, args.scenarios, SCENARIOS)
    args.single = scenario_list(parser, args.single, SCENARIOS) if args.single.strip(", ") else []
    if min(args.runs, args.seconds, args.connections, args.threads) < 1 or args.warmup < 0 or args.documents < 50:
        parser.error("--runs, --seconds, --connections and --threads must be >= 1, --warmup >= 0, --documents >= 50")
    if "bare" not in args.scenarios:
        args.scenarios.insert(0, "bare")  # every ratio is to the bare view of the same run
    return args


# --- data ----------------------------------------------------------------------------
@dataclass
class Corpus:
    workspace_id: str
    document_id: str
    documents: int
    content_bytes: int


def prepare(args: argparse.Namespace) -> Corpus:
    """Migrate; the bench user, its team workspace and `--documents` markdown documents of about 2 KB each
    (through the services, as the API writes them); the first of them is the one read by id."""
    from django.core.management import call_command

    from accounts.models import User
    from accounts.services.users import user_create
    from documents.models import Document
    from documents.services.documents import document_create
    from workspaces.models import Workspace
    from workspaces.services.workspaces import workspace_create

    call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
    user = User.objects.filter(email=BENCH_EMAIL).first()
    if user is None:
        user = user_create(email=BENCH_EMAIL, password=BENCH_PASSWORD, display_name="REST bench", email_verified=True)
    workspace = Workspace.objects.filter(owner=user, name=WORKSPACE_NAME, deleted_at__isnull=True).first()
    if workspace is None:
        workspace = workspace_create(owner=user, name=WORKSPACE_NAME)
    documents = Document.objects.filter(workspace=workspace, deleted_at__isnull=True)
    missing = args.documents - documents.count()
    if missing > 0:
        maker, started = TextMaker(16), time.perf_counter()
        for _ in range(missing):
            title = maker.title()
            data = {"title": title, "content": maker.markdown(title, CONTENT_WORDS), "tags": maker.tags()}
            document_create(actor=user, workspace=workspace, data=data)
        print(f"seeded      {missing} documents through document_create in {time.perf_counter() - started:.1f} s")
    first = documents.order_by("created_at", "id").first()
    return Corpus(str(workspace.pk), str(first.pk), documents.count(), len(first.content.encode()))


def scenario_paths(corpus: Corpus) -> dict[str, str]:
    return {
        "bare": "/bench/bare",
        "bare-onehop": "/bench/bare-onehop",
        "healthz": "/healthz",
        "auth/me": "/api/v1/auth/me",
        "documents/{id}": f"/api/v1/documents/{corpus.document_id}",
        "list-50": f"/api/v1/workspaces/{corpus.workspace_id}/documents?limit=50",
    }


def login(port: int, timeout: float) -> str:
    return login_token(port, timeout, BENCH_EMAIL, BENCH_PASSWORD)


def check(port: int, path: str, token: str, timeout: float) -> str:
    """One GET through daphne that must answer 200; its size (and rows, for a page of a list)."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=timeout) as http:
        response = http.get(path, headers={"Authorization": f"Bearer {token}"})
    if response.status_code != 200:
        raise RequestFailed(f"GET {path} answered {response.status_code}: {response.text[:300]}")
    body = response.json()
    rows = body.get("documents") if isinstance(body, dict) and "limit=" in path else None
    return f"{len(response.content)} bytes" + (f", {len(rows)} rows" if isinstance(rows, list) else "")


# --- SQL and Redis of one request, served in this process ------------------------------
def statement_kind(sql: str) -> str:
    """A short name for a statement: its verb and its main table (subqueries in the select list left out)."""
    verb = sql.lstrip("( ").split(None, 1)[0].upper()
    if verb in {"SAVEPOINT", "RELEASE", "ROLLBACK"}:
        return "savepoint"
    if verb in {"BEGIN", "COMMIT"}:
        return "begin/commit"
    if verb == "SET":
        return "SET " + " ".join(sql.split()[1:4])
    while (flat := re.sub(r"\([^()]*\)", "", sql)) != sql:
        sql = flat
    table = re.search(r'(?:FROM|INTO|UPDATE)\s+"(\w+)"', sql)
    return f"{verb} {table.group(1) if table else '?'}"


@dataclass
class Cost:
    queries: int
    kinds: Counter
    redis: int  # round trips: commands sent, a pipeline counting once
    first_queries: int
    first_redis: int

    def described(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in self.kinds.most_common()) or "none"
        first = ""
        if (self.first_queries, self.first_redis) != (self.queries, self.redis):
            first = f"; the first call {self.first_queries} SQL, {self.first_redis} Redis"
        return f"{self.queries} SQL ({kinds}), {self.redis} Redis round trips{first}"


def in_process(name: str, path: str, token: str) -> Cost:
    """Serve `path` three times through Django's test client (the project's middleware, or none and the bare URL
    map for the bare views), counting SQL and Redis round trips; the last call is the one reported."""
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from mdcreator.cache import redis_round_trips

    logging.getLogger("mdcreator.staticfiles").setLevel(logging.ERROR)  # static files are not collected here
    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    bare = (
        override_settings(ROOT_URLCONF=BARE_URLCONF, MIDDLEWARE=[])
        if name.startswith("bare")
        else contextlib.nullcontext()
    )
    calls = []
    with bare:
        for _ in range(3):
            with CaptureQueriesContext(connection) as captured, redis_round_trips() as sent:
                response = client.get(path)
            if response.status_code != 200:
                sys.exit(f"in-process GET {path} answered {response.status_code}: {response.content[:300]!r}")
            calls.append((captured.captured_queries, len(sent)))
    queries, redis = calls[-1]
    kinds = Counter(statement_kind(query["sql"]) for query in queries)
    return Cost(len(queries), kinds, redis, len(calls[0][0]), calls[0][1])


# --- wrk -------------------------------------------------------------------------------
def wrk_path() -> str:
    found = shutil.which("wrk")
    if not found:
        sys.exit("wrk is not installed: `apt-get install -y wrk` (make bench-rest does it)")
    return found


def wrk_version() -> str:
    done = subprocess.run([wrk_path(), "-v"], capture_output=True, text=True, check=False)
    match = re.search(r"wrk (\S+)", done.stdout + done.stderr)
    return match.group(1) if match else "unknown"


@dataclass
class Run:
    rps: float
    requests: int
    p50: float  # ms
    p99: float  # ms
    errors: int  # non-2xx/3xx answers and socket errors
    daphne_ms: float  # daphne CPU per request, ms (= seconds per 1000 requests)
    postgres_ms: float  # PostgreSQL CPU per request, ms (every PostgreSQL process of the machine)
    wrk_cores: float
    busy: float  # share of the machine's cores busy during the run
    load: str


def wrk_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s|m|h)\s*$", text, re.MULTILINE)
    if not match:
        raise RequestFailed(f"wrk printed no {label}% latency:\n{text}")
    return float(match.group(1)) * WRK_UNITS[match.group(2)]


def wrk(args: argparse.Namespace, url: str, token: str, *, connections: int, seconds: int, pid: int) -> Run:
    """One wrk run against `url`, with daphne's, PostgreSQL's, wrk's and the machine's CPU around it."""
    threads = min(args.threads, connections)
    command = [
        wrk_path(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        f"--timeout={int(args.timeout)}s",
        "-H",
        f"Authorization: Bearer {token}",
        url,
    ]
    daphne, postgres, children = (
        process_cpu_seconds(pid),
        postgres_cpu_seconds(),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    busy, total = machine_cpu_ticks()
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    daphne, postgres = process_cpu_seconds(pid) - daphne, postgres_cpu_seconds() - postgres
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    busy_after, total_after = machine_cpu_ticks()
    text = done.stdout + done.stderr
    if done.returncode != 0:
        raise RequestFailed(f"wrk failed ({done.returncode}):\n{text}")
    requests = int(re.search(r"(\d+) requests in", text).group(1))
    errors = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", text)) else 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text):
        errors += sum(int(value) for value in m.groups())
    return Run(
        rps=float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        requests=requests,
        p50=wrk_ms(text, "50"),
        p99=wrk_ms(text, "99"),
        errors=errors,
        daphne_ms=daphne * 1000 / max(1, requests),
        postgres_ms=postgres * 1000 / max(1, requests),
        wrk_cores=wrk_cpu / wall,
        busy=(busy_after - busy) / max(1, total_after - total),
        load=load_average(),
    )


def run_line(label: str, run: Run) -> str:
    return (
        f"  {label:<16}{run.rps:>8.1f} req/s  p50 {run.p50:>6.1f}  p99 {run.p99:>6.1f} ms  "
        f"daphne {run.daphne_ms:>5.2f}  pg {run.postgres_ms:>5.2f} s/1000 req  errors {run.errors}  "
        f"wrk {run.wrk_cores:.2f} cores  machine {run.busy * 100:.0f}% busy  load {run.load}"
    )


# --- main ------------------------------------------------------------------------------
@dataclass
class Scenario:
    name: str
    path: str
    body: str = ""
    cost: Cost | None = None
    runs: list[Run] = field(default_factory=list)
    single: Run | None = None

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(run, attribute) for run in self.runs)


def verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return "no target"
    return f">= {target * 100:.0f} %: {'met' if ratio >= target else 'MISSED'}"


def print_header(args: argparse.Namespace, versions: dict[str, str], corpus: Corpus) -> None:
    from django.conf import settings

    database = settings.DATABASES["default"]
    pool = database.get("OPTIONS", {}).get("pool")
    print_machine(versions, args)
    print(
        f"server      one daphne process, {APPLICATION} (the project's application plus the bare views), "
        f"access log on; {settings.HTTP_WORKER_THREADS} request threads; database pool {pool or 'off'}"
    )
    print(
        f"load        wrk -t{args.threads} -c{args.connections} -d{args.seconds}s --latency, {args.runs} rounds "
        f"interleaved (medians), {args.warmup} s warm-up per scenario; then -c1 for {', '.join(args.single) or '-'}"
    )
    print(
        f"corpus      team workspace {corpus.workspace_id} with {corpus.documents} markdown documents; "
        f"documents/{{id}} reads {corpus.document_id} ({corpus.content_bytes} bytes of content)"
    )
    print(load_avg_line("before starting"))


def print_summary(scenarios: list[Scenario]) -> None:
    bare = scenarios[0].median("rps")
    onehop = next((s.median("rps") for s in scenarios if s.name == "bare-onehop"), None)
    print(
        f"\n{'scenario':<16}{'req/s':>8}{'of bare':>9}  {'target':<18}{'of onehop':>10}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'daphne':>8}{'pg':>7}{'queries':>9}{'redis':>7}"
    )
    print(f"{'':<16}{'median':>8}{'':>9}  {'':<18}{'':>10}{'':>8}{'':>8}{'s/1000 req':>15}")
    for s in scenarios:
        ratio = s.median("rps") / bare
        of_onehop = f"{s.median('rps') / onehop * 100:>9.0f}%" if onehop else f"{'-':>10}"
        print(
            f"{s.name:<16}{s.median('rps'):>8.1f}{ratio * 100:>8.0f}%  {verdict(ratio, TARGETS.get(s.name)):<18}"
            f"{of_onehop}"
            f"{s.median('p50'):>8.1f}{s.median('p99'):>8.1f}{s.median('daphne_ms'):>8.2f}"
            f"{s.median('postgres_ms'):>7.2f}{s.cost.queries:>9}{s.cost.redis:>7}"
        )
    singles = [s for s in scenarios if s.single]
    if singles:
        print(f"\n{'one connection':<16}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>8}{'daphne s/1000 req':>19}")
        for s in singles:
            print(
                f"{s.name:<16}{s.single.rps:>8.1f}{s.single.p50:>9.2f}{s.single.p99:>8.2f}{s.single.daphne_ms:>19.2f}"
            )


def measure(args: argparse.Namespace, server: Server, scenarios: list[Scenario]) -> None:
    base, pid = f"http://127.0.0.1:{server.port}", server.process.pid
    token, signed_at = login(server.port, args.timeout), time.monotonic()
    for scenario in scenarios:
        scenario.body = check(server.port, scenario.path, token, args.timeout)
        scenario.cost = in_process(scenario.name, scenario.path, token)
        print(f"  {scenario.name:<16}GET {scenario.path}: {scenario.body}; {scenario.cost.described()}")
        if args.warmup:
            wrk(args, base + scenario.path, token, connections=args.connections, seconds=args.warmup, pid=pid)
    for round_index in range(args.runs):
        print(f"\nround {round_index + 1} of {args.runs}  (daphne and PostgreSQL CPU per 1000 requests)")
        order = scenarios[round_index % len(scenarios) :] + scenarios[: round_index % len(scenarios)]
        for scenario in order:
            if time.monotonic() - signed_at > 480:  # the access token lasts 15 minutes; never inside a run
                token, signed_at = login(server.port, args.timeout), time.monotonic()
            run = wrk(args, base + scenario.path, token, connections=args.connections, seconds=args.seconds, pid=pid)
            scenario.runs.append(run)
            print(run_line(scenario.name, run), flush=True)
    singles = [s for s in scenarios if s.name in args.single]
    if singles:
        print("\none connection  (wrk -t1 -c1)")
    for scenario in singles:
        scenario.single = wrk(args, base + scenario.path, token, connections=1, seconds=args.seconds, pid=pid)
        print(run_line(scenario.name, scenario.single), flush=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    stop_on_sigterm()  # still stops daphne (one_daphne's finally)
    env = server_env(args)
    versions = software_versions(args)
    versions["wrk"] = wrk_version()
    setup_django(env)
    corpus = prepare(args)
    print_header(args, versions, corpus)
    paths = scenario_paths(corpus)
    scenarios = [Scenario(name, paths[name]) for name in SCENARIOS if name in args.scenarios]
    with one_daphne(env, "mdc-bench-rest-", APPLICATION) as server:
        print("\nscenarios   (checked through daphne, SQL and Redis of one request served in this process)")
        measure(args, server, scenarios)
        errors = sum(run.errors for s in scenarios for run in [*s.runs, *([s.single] if s.single else [])])
        if errors:
            print(f"\n{errors} requests failed; daphne printed (access lines left out):\n{server.problems()}")
    print("\n" + load_avg_line("at the end"))
    print_summary(scenarios)


if __name__ == "__main__":
    main()
