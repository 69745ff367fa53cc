#!/usr/bin/env python3
"""Fan-out latency of live co-editing: real Yjs clients against daphne on PostgreSQL and Redis; prints figures.

    python bench/collab_fanout.py [--scenarios one,many] [--seconds 30] [--processes 1]

See bench/README.md for what is measured and how to read the output.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

from _common import (
    BASE_DIR,
    CLK_TCK,
    CpuSample,
    engine_urls,
    ensure_database,
    free_ports,
    load_avg_line,
    machine_cpu_ticks,
    migrate,
    peak_rss_mib,
    print_machine,
    redis_version,
    scenario_list,
    server_env,
    setup_django,
    start_servers,
    stop_on_sigterm,
    stop_servers,
    wait_healthy,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mdcreator_bench_collab"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
BENCH_EMAIL = "collab-bench-{:03d}@bench.mdcreator.test"
WORKSPACE_NAME = "Collab fan-out bench"
NODE_DIR = BASE_DIR / "tests" / "node"
GENERATOR = BASE_DIR / "bench" / "collab_load.mjs"
TARGET_P99_MS = 50.0
EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Detected): ")
SCENARIOS = ("one", "many")


# --- command line -------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line; engine URLs default to the environment, then to localhost."""
    parser = argparse.ArgumentParser(
        description="Measure how fast daphne fans live Yjs edits out to real y-websocket clients.",
        epilog="Environment: DATABASE_URL (PostgreSQL; the database is created if missing), REDIS_URL.",
    )
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma list out of one, many (both)")
    parser.add_argument("--clients", type=int, default=40, help="clients on the one document of `one` (40)")
    parser.add_argument("--documents", type=int, default=100, help="documents of `many` (100)")
    parser.add_argument("--per-document", type=int, default=2, help="clients per document of `many` (2)")
    parser.add_argument("--rate", type=float, default=3.0, help="edits per second per client (3)")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds per scenario (30)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of edits before measuring (3)")
    parser.add_argument("--processes", type=int, default=1, help="daphne processes; clients alternate (1)")
    parser.add_argument(
        "--affinity", choices=("none", "document"), default="none",
        help="with several processes: none (a document's clients alternate between them, every edit crosses "
        "Redis) or document (all clients of a document on one process, as a proxy hashing the document id "
        "routes them) (none)",
    )  # fmt: skip
    parser.add_argument("--users", type=int, default=40, help="bench users; clients rotate through them (40)")
    parser.add_argument("--connect-concurrency", type=int, default=20, help="connections opened at once (20)")
    parser.add_argument("--drain", type=float, default=30.0, help="seconds allowed to converge after the edits (30)")
    args = parser.parse_args(argv)
    engine_urls(args, DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL)
    args.scenarios = scenario_list(parser, args.scenarios, SCENARIOS)
    if min(args.clients, args.documents, args.per_document, args.processes, args.users) < 1:
        parser.error("--clients, --documents, --per-document, --processes and --users must be >= 1")
    if args.clients > 100:
        parser.error("--clients: a document takes at most 100 connections (SPEC §5.4)")
    if args.rate <= 0 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--rate and --seconds must be > 0, --warmup >= 0")
    return args


def node_path() -> str:
    """Node.js on PATH, with the npm packages of tests/node installed."""
    node = shutil.which("node")
    if not node:
        sys.exit("node is not installed (Node 20 or newer)")
    if not (NODE_DIR / "node_modules" / "y-websocket").is_dir():
        sys.exit("the npm packages are missing; run `make node` first")
    return node


def npm_version(package: str) -> str:
    """The installed version of a package of tests/node."""
    return json.loads((NODE_DIR / "node_modules" / package / "package.json").read_text())["version"]


# --- data -----------------------------------------------------------------------
def bench_team(users: int):
    """The bench workspace and its members (editors), created when missing; returns (workspace, users)."""
    from accounts.models import User
    from accounts.services.users import user_create
    from workspaces.models import Workspace, WorkspaceMember
    from workspaces.roles import Role
    from workspaces.services.workspaces import workspace_create

    people = []
    for index in range(users):
        email = BENCH_EMAIL.format(index)
        person = User.objects.filter(email=email).first()
        people.append(
            person or user_create(email=email, password=None, display_name=f"Bench {index}", email_verified=True)
        )
    workspace = Workspace.objects.filter(name=WORKSPACE_NAME, owner=people[0]).first()
    workspace = workspace or workspace_create(owner=people[0], name=WORKSPACE_NAME)
    members = set(WorkspaceMember.objects.filter(workspace=workspace).values_list("user_id", flat=True))
    for person in people:
        if person.pk not in members:
            WorkspaceMember.objects.create(workspace=workspace, user=person, role=Role.EDITOR)
    return workspace, people


def clear_presence(people) -> int:
    """Close the presence rows a stopped server left behind: they count against the per-user connection limit."""
    from django.utils import timezone

    from collab.models import Presence

    return Presence.objects.filter(user__in=people, is_active=True).update(
        is_active=False, disconnected_at=timezone.now()
    )


def create_documents(workspace, people, *, documents: int, per_document: int) -> list[dict]:
    """Fresh documents with a heading and one paragraph per client; each client gets its own token."""
    from accounts.services.sessions import ClientInfo, session_start
    from documents.services.documents import document_create

    specs, turn = [], 0
    for number in range(documents):
        content = "# Fan-out bench\n\n" + "\n\n".join(f"Client {k} types here." for k in range(per_document)) + "\n"
        document = document_create(
            actor=people[0], workspace=workspace, data={"title": f"Fan-out {number}", "content": content}
        )
        tokens = []
        for _ in range(per_document):
            person = people[turn % len(people)]
            turn += 1
            tokens.append(session_start(user=person, client=ClientInfo(user_agent="collab-bench")).access_token)
        specs.append({"id": str(document.pk), "tokens": tokens})
    return specs


def durable_check(rooms: list[dict]) -> tuple[int, int]:
    """Documents whose stored state (compacted state + update rows) has exactly the clients' state vector."""
    from collab import store
    from collab.protocol import decode_state_vector

    matching = 0
    for room in rooms:
        stored = decode_state_vector(store.load_snapshot(room["id"]).as_doc().get_state())
        clients = {int(client): clock for client, clock in room["state_vector"].items()}
        matching += stored == clients
    return matching, len(rooms)


def close_db() -> None:
    from django.db import connections

    connections.close_all()


# --- a scenario -----------------------------------------------------------------
def run_scenario(name: str, documents: list[dict], args, env, log_dir: Path) -> dict:
    """Start daphne, drive the Node generator, return its result plus the server's CPU and memory."""
    servers = start_servers(free_ports(args.processes), env, log_dir)
    pids = [server.process.pid for server in servers]
    try:
        for server in servers:
            wait_healthy(server)
        config = {
            "name": name,
            "servers": [f"ws://127.0.0.1:{server.port}" for server in servers],
            "documents": documents,
            "rate": args.rate,
            "warmup": args.warmup,
            "seconds": args.seconds,
            "connect_concurrency": args.connect_concurrency,
            "drain": args.drain,
            "affinity": args.affinity,
        }
        config_path = log_dir / f"{name}.json"
        config_path.write_text(json.dumps(config))
        command = [node_path(), str(GENERATOR), str(config_path)]
        process = subprocess.Popen(command, cwd=BASE_DIR, stdout=subprocess.PIPE, text=True)
        before = after = None
        result = None
        for line in process.stdout:
            event = json.loads(line)
            if event["event"] == "measure_start":
                before = CpuSample.take(pids)
            elif event["event"] == "measure_end":
                after = CpuSample.take(pids)
            elif event["event"] == "result":
                result = event
            elif event["event"] == "error":
                sys.exit(f"the load generator failed:\n{event['error']}")
        process.wait()
        if result is None or before is None or after is None:
            sys.exit(f"the load generator stopped early (exit {process.returncode})")
        time.sleep(1.0)  # rooms close: materialization and compaction of the last edits
        result["server_rss_mib"] = sum(peak_rss_mib(pid) for pid in pids)
    finally:
        stop_servers(servers)
    wall = after.wall - before.wall
    result["server_cpu_seconds"] = after.server - before.server
    result["server_cores"] = result["server_cpu_seconds"] / wall
    result["machine_busy"] = (after.machine_busy - before.machine_busy) / CLK_TCK
    result["machine_span"] = (after.machine_total - before.machine_total) / CLK_TCK
    result["durable"] = durable_check(result["rooms"])
    result["problems"] = "\n".join(server.problems() for server in servers).strip()
    result["errors"] = error_counts(servers)
    return result


def error_counts(servers) -> dict[str, int]:
    """Exceptions daphne logged, by type and first line (a deadlock, a full Redis pool, ...)."""
    counts: dict[str, int] = {}
    for server in servers:
        for line in server.log_path.read_text(errors="replace").splitlines():
            match = EXCEPTION_LINE.match(line)
            if match:
                key = line[:120]
                counts[key] = counts.get(key, 0) + 1
    return counts


# --- report ---------------------------------------------------------------------
def ms(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def background_busy(seconds: float = 3.0) -> float:
    """How busy the machine is before the run (other work skews every figure), in percent."""
    busy, total = machine_cpu_ticks()
    time.sleep(seconds)
    busy2, total2 = machine_cpu_ticks()
    return 100 * (busy2 - busy) / max(1, total2 - total)


def print_header(args, versions: dict[str, str]) -> None:
    print_machine(versions, args)
    print(
        f"load        {args.rate:g} edits/s per client, {args.warmup:g} s warm-up + {args.seconds:g} s measured, "
        f"{args.processes} daphne process(es) (affinity: {args.affinity}), {args.users} users, "
        "clients: stock y-websocket WebsocketProvider"
    )
    print(load_avg_line("before starting"))
    print(f"background  {background_busy():.0f}% of the machine's CPU busy during 3 s before starting")


def print_result(result: dict, args) -> None:
    """One scenario's figures."""
    connect, delivery, fanout = result["connect"], result["delivery_ms"], result["fanout_ms"]
    client = result["client"]
    busy, span = result["machine_busy"], result["machine_span"]
    other = busy - result["server_cpu_seconds"] - client["cpu_seconds"]
    matching, rooms = result["durable"]
    verdict = "meets" if fanout["p99"] is not None and fanout["p99"] <= TARGET_P99_MS else "misses"
    print(
        f"\n[{result['name']}] {result['documents']} document(s) x {result['clients'] // result['documents']} clients"
    )
    print(
        f"  connect+sync ms  p50 {ms(connect['p50'])}  p95 {ms(connect['p95'])}  max {ms(connect['max'])}"
        f"  ({connect['count']} clients in {connect['wall_seconds']:.1f} s, {args.connect_concurrency} at a time)"
    )
    print(
        f"  edits            {result['edits']['measured']} measured = {result['edits']['per_second']:.1f}/s"
        f" ({result['edits']['total']} in all)"
    )
    print(
        f"  fan-out ms       p50 {ms(fanout['p50'])}  p95 {ms(fanout['p95'])}  p99 {ms(fanout['p99'])}"
        f"  max {ms(fanout['max'])}  (edit until every other client applied it; target p99 <= {TARGET_P99_MS:g}: {verdict})"
    )
    print(
        f"  delivery ms      p50 {ms(delivery['p50'])}  p95 {ms(delivery['p95'])}  p99 {ms(delivery['p99'])}"
        f"  max {ms(delivery['max'])}  (edit until one other client applied it)"
    )
    print(
        f"  delivered        {result['deliveries_per_second']:.0f} edits/s applied by receivers,"
        f" {result['remote_transactions_per_second']:.0f} update frames/s applied"
    )
    print(f"  server CPU       {result['server_cpu_seconds']:.2f} s = {result['server_cores']:.2f} cores (daphne)")
    print(f"  server RSS       {result['server_rss_mib']:.0f} MiB peak (VmHWM, all daphne processes)")
    print(
        f"  client CPU       {client['cpu_seconds']:.2f} s; event-loop delay ms p50 {ms(client['loop_delay_ms']['p50'])}"
        f" p99 {ms(client['loop_delay_ms']['p99'])} max {ms(client['loop_delay_ms']['max'])}"
    )
    print(
        f"  machine CPU      {busy:.2f} of {span:.2f} core-seconds busy ({100 * busy / span if span else 0:.0f}%),"
        f" other (PostgreSQL, Redis, ...) {other:.2f} s"
    )
    print(
        f"  convergence      clients equal: {result['converged']}; equal to a fresh client's view: {result['server_equal']};"
        f" stored state = clients: {matching}/{rooms}; drained in {result['drain_seconds']:.2f} s"
    )
    codes = ", ".join(f"{code}: {count}" for code, count in sorted(result["close_codes"].items())) or "none"
    print(
        f"  connections      {result['reconnects']} reconnects (close codes {codes}; {result['stopped_clients']} clients"
        f" gave up on a 44xx code); {result['text_frames_refused_by_provider']} JSON text frames the stock provider"
        " could not read (presence events)"
    )
    for line, count in sorted(result["errors"].items(), key=lambda item: -item[1]):
        print(f"  daphne error     {count} x {line}")
    if result["problems"]:
        print(f"  daphne printed (last lines):\n{result['problems']}")


def print_summary(results: list[dict]) -> None:
    print("\nscenario  clients  edits/s  fan-out p50/p95/p99 ms   connect p50/p95 ms  server cores  RSS MiB  converged")
    for r in results:
        f, c = r["fanout_ms"], r["connect"]
        print(
            f"{r['name']:<9}{r['clients']:>8}{r['edits']['per_second']:>9.0f}"
            f"{ms(f['p50']):>9}/{ms(f['p95'])}/{ms(f['p99']):<10}{ms(c['p50']):>10}/{ms(c['p95']):<9}"
            f"{r['server_cores']:>12.2f}{r['server_rss_mib']:>9.0f}  {r['converged'] and r['server_equal']}"
        )


# --- main -----------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """Prepare the database and data, run each scenario on a fresh daphne, print."""
    args = parse_args(argv)
    stop_on_sigterm()
    env = server_env(args)
    node = node_path()
    versions = {
        "Python": platform.python_version(),
        "Django": version("Django"),
        "daphne": version("daphne"),
        "channels": version("channels"),
        "channels-redis": version("channels-redis"),
        "pycrdt": version("pycrdt"),
        "PostgreSQL": ensure_database(args.database_url),
        "Redis": redis_version(args.redis_url),
        "Node": subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip(),
        "yjs": npm_version("yjs"),
        "y-websocket": npm_version("y-websocket"),
    }
    migrate(env)
    setup_django(env)
    workspace, people = bench_team(args.users)
    print_header(args, versions)
    results = []
    with tempfile.TemporaryDirectory(prefix="mdc-bench-collab-") as log_dir:
        for name in args.scenarios:
            count, per = (1, args.clients) if name == "one" else (args.documents, args.per_document)
            clear_presence(people)  # every daphne of this bench is stopped between scenarios
            documents = create_documents(workspace, people, documents=count, per_document=per)
            close_db()
            result = run_scenario(name, documents, args, env, Path(log_dir))
            print_result(result, args)
            results.append(result)
            close_db()
    print_summary(results)


if __name__ == "__main__":
    main()
