"""What the benchmarks share: engines, daphne, CPU counters, the machine's state, the seeded corpus and its reads.

Every script under bench/ imports from here (the script's folder is on `sys.path` when it runs), so each
benchmark starts, stops and describes daphne, PostgreSQL and Redis the same way and prints its figures with the
same machine, software and command lines.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

BASE_DIR = Path(__file__).resolve().parent.parent
# Far above what any single machine reaches, so the limiter is exercised but never answers 429.
HIGH_RATE = "10000000/second"
CLK_TCK = os.sysconf("SC_CLK_TCK")
ACCESS_LINE = re.compile(r"^\S+ - - \[[^]]*\] \"")
ASGI_APPLICATION = "mdcreator.asgi:application"


# --- command line and environment -----------------------------------------------
def engine_urls(args: argparse.Namespace, database_url: str, redis_url: str) -> None:
    """Set `args.database_url` and `args.redis_url` from the environment, else from the bench's defaults."""
    args.database_url = os.environ.get("DATABASE_URL") or database_url
    args.redis_url = os.environ.get("REDIS_URL") or redis_url


def scenario_list(parser: argparse.ArgumentParser, text: str, known: tuple[str, ...]) -> list[str]:
    """The names of a comma list, each one of `known`; a parser error otherwise or when none is given."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = set(names) - set(known)
    if unknown or not names:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown)) or '(none given)'}")
    return names


def add_seed_options(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark over a seeded database: the corpus's random seed, reseeding, seeding only."""
    parser.add_argument("--seed", type=int, default=42, help="random seed of the corpus (42)")
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed again")
    parser.add_argument("--seed-only", action="store_true", help="seed (when needed) and stop")


def add_read_options(parser: argparse.ArgumentParser) -> None:
    """The options of a benchmark of reads with their SQL: which scenarios, full plans, the request timeout."""
    parser.add_argument("--only", default="", help="run only scenarios whose name contains one of these (comma list)")
    parser.add_argument("--plans", action="store_true", help="also print the full EXPLAIN of slow queries")
    parser.add_argument("--timeout", type=float, default=60.0, help="per-request timeout in seconds (60)")


def stop_on_sigterm() -> None:
    """Turn a plain SIGTERM into SystemExit, so the `finally` that stops daphne still runs."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def server_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment of manage.py and daphne: the bench engines and limits nothing reaches."""
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "mdcreator.settings")
    env.update(
        DATABASE_URL=args.database_url,
        REDIS_URL=args.redis_url,
        DJANGO_DEBUG="False",
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        RATE_LIMIT_LOGIN=HIGH_RATE,
        RATE_LIMIT_API=HIGH_RATE,
        RATE_LIMIT_SIGNUP=HIGH_RATE,
        LOG_LEVEL="WARNING",
    )
    return env


def masked(url: str) -> str:
    """The URL with any password replaced by `***`, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# --- engines --------------------------------------------------------------------
def software_versions(args: argparse.Namespace) -> dict[str, str]:
    """What every benchmark prints: Python, Django, daphne, PostgreSQL (its database created when missing), Redis."""
    return {
        "Python": platform.python_version(),
        "Django": version("Django"),
        "daphne": version("daphne"),
        "PostgreSQL": ensure_database(args.database_url),
        "Redis": redis_version(args.redis_url),
    }


def ensure_database(url: str) -> str:
    """Create the PostgreSQL database of `url` when it is missing; return the server version."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if not parts.scheme.startswith(("postgres", "pgsql", "psql")):
        sys.exit(f"DATABASE_URL must point at PostgreSQL, got {masked(url)}")
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        server_version = conn.execute("SHOW server_version").fetchone()[0]
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")
    return server_version


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


def redis_version(url: str) -> str:
    """Ping Redis and return its version."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return client.info("server")["redis_version"]
    finally:
        client.close()


def migrate(env: dict[str, str]) -> None:
    """Apply the migrations with manage.py in a process of its own, under the server's environment."""
    # Checks are the test suite's job; a warning elsewhere in the tree should not stop a measurement.
    command = [sys.executable, "manage.py", "migrate", "--noinput", "--skip-checks", "--verbosity", "0"]
    subprocess.run(command, cwd=BASE_DIR, env=env, check=True)


def setup_django(env: dict[str, str]) -> None:
    """Configure Django in this process with the server's environment (for seeding and EXPLAIN)."""
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


# --- daphne ---------------------------------------------------------------------
def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports that are free on 127.0.0.1 right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def daphne_path() -> str:
    """The daphne beside this interpreter (the venv), else the one on PATH."""
    beside = Path(sys.executable).with_name("daphne")
    found = str(beside) if beside.exists() else shutil.which("daphne")
    if not found:
        sys.exit("daphne is not installed; run `make install` first")
    return found


@dataclass
class Server:
    """One daphne process and where its output goes."""

    port: int
    process: subprocess.Popen
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        """The last lines daphne printed."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def problems(self, lines: int = 40) -> str:
        """The last lines daphne printed that are not access-log lines (tracebacks, warnings)."""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join([line for line in text if not ACCESS_LINE.match(line)][-lines:])


def start_servers(
    ports: list[int], env: dict[str, str], log_dir: Path, application: str = ASGI_APPLICATION
) -> list[Server]:
    """Start one daphne per port serving `application`; the caller must stop them."""
    servers = []
    for port in ports:
        log_path = log_dir / f"daphne-{port}.log"
        with open(log_path, "wb") as log:
            command = [daphne_path(), "-b", "127.0.0.1", "-p", str(port), application]
            process = subprocess.Popen(
                command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        servers.append(Server(port=port, process=process, log_path=log_path))
    return servers


def wait_healthy(server: Server, deadline_seconds: float = 60.0) -> None:
    """Poll /healthz until it answers 200; exit with daphne's log if it never does."""
    deadline = time.monotonic() + deadline_seconds
    url = f"http://127.0.0.1:{server.port}/healthz"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    sys.exit(f"daphne on port {server.port} did not become healthy:\n{server.log_tail()}")


def stop_servers(servers: list[Server]) -> None:
    """Terminate every daphne started here, killing those that linger."""
    for server in servers:
        if server.process.poll() is None:
            server.process.terminate()
    for server in servers:
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


class RequestFailed(Exception):
    """A request that did not answer as it must; the run stops and shows what daphne printed."""


@contextlib.contextmanager
def one_daphne(env: dict[str, str], prefix: str, application: str = ASGI_APPLICATION):
    """One daphne for a benchmark run: healthy before the body runs, stopped after it; a failed request exits
    with what daphne printed."""
    with tempfile.TemporaryDirectory(prefix=prefix) as log_dir:
        server = start_servers(free_ports(1), env, Path(log_dir), application)[0]
        try:
            wait_healthy(server)
            yield server
        except RequestFailed as failure:
            sys.exit(f"{failure}\n\ndaphne printed (access lines left out):\n{server.problems()}")
        finally:
            stop_servers([server])


# --- HTTP -----------------------------------------------------------------------
def build_request(method: str, path: str, *, body: dict | None = None, token: str | None = None) -> bytes:
    """The bytes of one keep-alive HTTP/1.1 request."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "User-Agent: mdcreator-bench", "Accept: */*"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    payload = b""
    if body is not None:
        payload = json.dumps(body).encode()
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def login_token(port: int, timeout: float, email: str, password: str) -> str:
    """A real `POST auth/login` on its own connection; the access token."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=timeout) as http:
        response = http.post("/api/v1/auth/login", json={"email": email, "password": password})
        if response.status_code != 200:
            raise RequestFailed(f"login of {email} answered {response.status_code}: {response.text[:300]}")
        return response.json()["access_token"]


class Api:
    """A keep-alive HTTP client signed in with a real login."""

    def __init__(self, port: int, timeout: float, email: str, password: str):
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=timeout)
        self.port, self.timeout = port, timeout
        self.email, self.password, self.token, self.signed_at = email, password, "", 0.0

    def login(self) -> None:
        """POST auth/login (`login_token`) and keep the access token."""
        self.token = login_token(self.port, self.timeout, self.email, self.password)
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

    def post(self, path: str, body: dict) -> httpx.Response:
        """One POST of a JSON body that must answer 200."""
        response = self.http.post(path, json=body)
        if response.status_code != 200:
            raise RequestFailed(f"POST {path} answered {response.status_code}: {response.text[:500]}")
        return response


def timed_gets(api: Api, path: str, params: dict, count: int) -> tuple[list[float], httpx.Response]:
    """`count` sequential GETs on the client's one connection: their latencies and the last response."""
    latencies, response = [], None
    for _ in range(count):
        started = time.perf_counter()
        response = api.get(path, params)
        latencies.append(time.perf_counter() - started)
    return latencies, response


KEPT_RESULTS = ("*documents:total:*", "*search:ranking:*", "*search:headline:*")


def forget_kept_results(redis_client) -> None:
    """Delete the list totals and search rankings the server keeps in the cache (and nothing else)."""
    for pattern in KEPT_RESULTS:
        keys = list(redis_client.scan_iter(match=pattern, count=1000))
        if keys:
            redis_client.delete(*keys)


def first_asks(api: Api, path: str, params: dict, count: int, redis_client) -> list[float]:
    """The latencies of `count` GETs, each sent after deleting what the server kept from the earlier ones."""
    latencies = []
    for _ in range(count):
        forget_kept_results(redis_client)
        started = time.perf_counter()
        api.get(path, params)
        latencies.append(time.perf_counter() - started)
    return latencies


# --- CPU accounting -------------------------------------------------------------
def process_cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), from /proc/<pid>/stat."""
    # The command name may hold spaces, so split after its closing parenthesis;
    # utime and stime are fields 14 and 15, i.e. 12th and 13th after it.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_mib(pid: int) -> float:
    """The largest resident set the process has had (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies over all cores since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


@dataclass(frozen=True)
class CpuSample:
    """CPU counters at one instant."""

    wall: float
    server: float
    client: float
    machine_busy: int
    machine_total: int

    @classmethod
    def take(cls, pids: list[int]) -> CpuSample:
        """Read the counters of the daphne processes, this process and the machine."""
        busy, total = machine_cpu_ticks()
        server = sum(process_cpu_seconds(pid) for pid in pids)
        return cls(time.perf_counter(), server, time.process_time(), busy, total)


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


def costs(before: Sample, after: Sample, units: int, requests: int) -> dict:
    """CPU of daphne and PostgreSQL per unit, new sessions per request, the machine's busy share."""
    return {
        "daphne_ms": (after.daphne - before.daphne) * 1000 / units,
        "postgres_ms": (after.postgres - before.postgres) * 1000 / units,
        "sessions": (after.sessions - before.sessions) / max(1, requests),
        "machine_busy": (after.busy - before.busy) / max(1, after.ticks - before.ticks),
    }


# --- the machine and the report ---------------------------------------------------
def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (0 when empty)."""
    if not sorted_values:
        return 0.0
    # The smallest rank covering `fraction` of the values; rounding first keeps float noise such as
    # 0.95 * 100 == 95.00000000000001 from pushing the rank one place up.
    rank = max(1, min(len(sorted_values), math.ceil(round(fraction * len(sorted_values), 9))))
    return sorted_values[rank - 1]


def percentile_ms(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of seconds in any order, in milliseconds."""
    return percentile(sorted(values), fraction) * 1000


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages from /proc/loadavg."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def load_avg_line(when: str) -> str:
    """`load avg    1.0 0.5 0.2 (1, 5, 15 min) <when>`."""
    return f"load avg    {load_average()} (1, 5, 15 min) {when}"


def memory_total() -> str:
    """MemTotal from /proc/meminfo, in GiB."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def print_machine(
    versions: dict[str, str], args: argparse.Namespace | None = None, *, postgres: dict | None = None, lead: str = ""
) -> None:
    """The machine and software lines every benchmark opens with; then PostgreSQL's settings when given, and the
    exact command with its engine URLs (passwords masked) when `args` is."""
    print(f"{lead}machine     {os.cpu_count()} CPUs, {cpu_model()}, {memory_total()} RAM, {platform.platform()}")
    print("software    " + ", ".join(f"{name} {value}" for name, value in versions.items()))
    if postgres:
        print("postgres    " + ", ".join(f"{name} {value}" for name, value in postgres.items()))
    if args is not None:
        command = shlex.join(sys.orig_argv)
        print(f"command     DATABASE_URL={masked(args.database_url)} REDIS_URL={masked(args.redis_url)} {command}")


# --- the benchmarks over a seeded database ------------------------------------------
def seeded_main(script, argv: list[str] | None) -> None:
    """The `main` of a benchmark over a seeded database; `script` is its module, which provides `parse_args`,
    `prepare` (seed when needed), `describe_corpus`, `print_header`, `run` and `print_summary`."""
    args = script.parse_args(argv)
    stop_on_sigterm()  # a plain SIGTERM should still stop daphne (one_daphne's finally)
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


def prepare_seeded(args: argparse.Namespace, *, marker: str, seed, leftovers) -> None:
    """Migrate, then `seed(args)` unless a finished seed with the same parameters is there: the workspace whose
    description is `marker`. When `leftovers()` finds rows of another seed, the database is dropped first."""
    from django.core.management import call_command
    from django.db import connections

    from workspaces.models import Workspace

    call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
    if Workspace.objects.filter(description=marker).exists():
        print("seed found: reusing it (--reseed to start again)")
        return
    if leftovers():
        # An unfinished seed, or one with other parameters: start from an empty database.
        connections.close_all()
        drop_database(args.database_url)
        ensure_database(args.database_url)
        call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
    seed(args)


def vacuum_analyze(tables: tuple[str, ...]) -> None:
    """VACUUM (ANALYZE) the seeded tables: fresh statistics and visibility map, as after autovacuum."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM (ANALYZE) {table}")


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


def print_seeded_header(args: argparse.Namespace, versions: dict[str, str], lines: list[str], load: str) -> None:
    """The machine, software, PostgreSQL settings, exact command, load, and the corpus's `lines`."""
    print_machine(versions, args, postgres=server_facts(), lead="\n")
    print(f"load        {load}")
    print(load_avg_line("before starting"))
    for line in lines:
        print(f"corpus      {line}")


def latency_line(latencies: list[float], warmup: int) -> str:
    """p50, p95, p99, mean and max of sequential requests, in milliseconds."""
    return (
        f"  latency ms   p50 {percentile_ms(latencies, 0.50):.1f}  p95 {percentile_ms(latencies, 0.95):.1f}  "
        f"p99 {percentile_ms(latencies, 0.99):.1f}  mean {statistics.fmean(latencies) * 1000:.1f}  "
        f"max {max(latencies) * 1000:.1f}  ({len(latencies)} sequential requests after {warmup} warm-up)"
    )


def first_ask_line(latencies: list[float], deleted: str) -> str:
    """p50, p95 and max of the requests each sent after deleting what the server kept (`deleted` says what)."""
    return (
        f"  first ask    p50 {percentile_ms(latencies, 0.50):.1f}  p95 {percentile_ms(latencies, 0.95):.1f}  "
        f"max {max(latencies) * 1000:.1f}  ({len(latencies)} requests, each after deleting {deleted})"
    )


def print_costs(result) -> None:
    """The server CPU and connection lines of a scenario measured one request at a time."""
    print(
        f"  server CPU   daphne {result.daphne_ms:.1f} ms/request, PostgreSQL {result.postgres_ms:.1f} ms/request "
        f"(all its processes); machine {result.machine_busy:.0%} busy"
    )
    print(f"  connections  {result.sessions:.2f} new PostgreSQL sessions per request")


# --- SQL of one request ----------------------------------------------------------------
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


def plan_nodes(node: dict):
    """Every node of a JSON plan tree."""
    yield node
    for child in node.get("Plans", []):
        yield from plan_nodes(child)


def explain(sql: str, settings: str | None, *, label: str) -> QueryPlan:
    """Run EXPLAIN (ANALYZE, BUFFERS) on one captured statement, under the SET LOCAL it ran with."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if settings:
            cursor.execute(settings)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        top = cursor.fetchone()[0][0]
    nodes = list(plan_nodes(top["Plan"]))
    return QueryPlan(
        label=label,
        execution_ms=top["Execution Time"],
        planning_ms=top["Planning Time"],
        jit_ms=top.get("JIT", {}).get("Timing", {}).get("Total"),
        indexes=sorted({node["Index Name"] for node in nodes if "Index Name" in node}),
        seq_scans=sorted({node["Relation Name"] for node in nodes if node["Node Type"] == "Seq Scan"}),
        buffers=top["Plan"].get("Shared Hit Blocks", 0) + top["Plan"].get("Shared Read Blocks", 0),
        sql=sql,
        settings=settings,
    )


def served_selects(token: str, scenario, label_of, strip: str | None = None) -> tuple[int, list[QueryPlan]]:
    """Serve the scenario's request once in this process with nothing kept in the cache (the statements of a
    first request); return how many statements it ran and EXPLAIN each SELECT (after `sql.lstrip(strip)`),
    labelled by `label_of(sql)`."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {token}")
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(scenario.path, scenario.params)
    if response.status_code != 200:
        sys.exit(f"in-process {scenario.name} answered {response.status_code}: {response.content[:300]!r}")
    plans, settings = [], None
    for sql in (query["sql"] for query in captured.captured_queries):
        if sql.upper().startswith("SET LOCAL"):
            settings = sql  # the planner settings the next statement ran under (documents.search.index_driven)
        elif sql.lstrip(strip).upper().startswith("SELECT"):
            plans.append(explain(sql, settings, label=label_of(sql)))
            settings = None
    return len(captured.captured_queries), plans


def full_plan(sql: str, settings: str | None) -> str:
    """The text EXPLAIN (ANALYZE, BUFFERS) of a statement."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        if settings:
            cursor.execute(settings)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def print_plans(plans: list[QueryPlan], *, full: bool, width: int) -> None:
    """One line per statement (execution time, name, indexes or sequential scans, JIT, buffers); with `full`,
    the text plan of each statement taking 5 ms or more."""
    for plan in plans:
        how = [f"index {', '.join(plan.indexes)}" if plan.indexes else "no index"]
        if plan.seq_scans:
            how.append(f"seq scan {', '.join(plan.seq_scans)}")
        if plan.jit_ms is not None:
            how.append(f"JIT {plan.jit_ms:.0f} ms")
        how.append(f"plan {plan.planning_ms:.1f} ms, {plan.buffers} buffers")
        print(f"    {plan.execution_ms:8.1f} ms  {plan.label:<{width}} {'; '.join(how)}")
    for plan in plans if full else []:
        if plan.execution_ms >= 5:
            lines = full_plan(plan.sql, plan.settings).splitlines()
            print(f"\n  plan of {plan.label}:\n" + "\n".join("    " + line for line in lines))


# --- synthetic text -------------------------------------------------------------------
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
