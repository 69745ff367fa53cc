#!/usr/bin/env python3
"""Login and auth/me throughput of daphne on PostgreSQL and Redis; prints figures, asserts nothing.

    python bench/auth_throughput.py [--concurrency 32] [--seconds 15] [--processes 1]

See bench/README.md for what is measured and how to read the output.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from _common import (
    BASE_DIR,
    CLK_TCK,
    CpuSample,
    Server,
    build_request,
    engine_urls,
    free_ports,
    load_avg_line,
    migrate,
    peak_rss_mib,
    percentile_ms,
    print_machine,
    scenario_list,
    server_env,
    software_versions,
    start_servers,
    stop_on_sigterm,
    stop_servers,
    wait_healthy,
)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mdcreator_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
BENCH_PASSWORD = "Throughput-Bench-42x"
BENCH_EMAIL = "bench-{:04d}@bench.mdcreator.test"
SCENARIOS = ("login", "me")
CREATE_USERS = textwrap.dedent(
    """
    from accounts.models import User
    from accounts.services.users import user_create
    emails = {emails!r}
    existing = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
    for email in sorted(set(emails) - existing):
        user_create(email=email, password={password!r}, display_name="Bench user", email_verified=True)
    print(len(emails) - len(existing))
    """
)


# --- command line -------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Read the command line; engine URLs default to the environment, then to localhost."""
    parser = argparse.ArgumentParser(
        description="Measure login and GET auth/me requests per second against daphne on PostgreSQL and Redis.",
        epilog="Environment: DATABASE_URL (PostgreSQL; the database is created if missing), REDIS_URL.",
    )
    parser.add_argument("--concurrency", type=int, default=32, help="open connections / requests in flight (32)")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per scenario (15)")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each scenario (3)")
    parser.add_argument("--processes", type=int, default=1, help="daphne processes, one port each (1)")
    parser.add_argument("--users", type=int, default=64, help="bench users to rotate through (64)")
    parser.add_argument("--timeout", type=float, default=30.0, help="per-request timeout in seconds (30)")
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help=f"comma list out of {', '.join(SCENARIOS)} (all)"
    )
    args = parser.parse_args(argv)
    engine_urls(args, DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL)
    args.scenarios = scenario_list(parser, args.scenarios, SCENARIOS)
    if min(args.concurrency, args.processes, args.users) < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--concurrency, --processes and --users must be >= 1, --seconds > 0, --warmup >= 0")
    return args


# --- engines and data ---------------------------------------------------------
def prepare_data(args: argparse.Namespace, env: dict[str, str]) -> None:
    """Apply migrations and create the bench users that do not exist yet."""
    migrate(env)
    emails = [BENCH_EMAIL.format(i) for i in range(args.users)]
    code = CREATE_USERS.format(emails=emails, password=BENCH_PASSWORD)
    shell = [sys.executable, "manage.py", "shell", "--no-imports", "-c", code]
    done = subprocess.run(shell, cwd=BASE_DIR, env=env, check=True, capture_output=True, text=True)
    print(f"bench users: {args.users} ({done.stdout.split()[-1]} created now)")


# --- HTTP/1.1 load generator --------------------------------------------------
async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    """Read a chunked body up to and including its trailer."""
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Read one response: (status, body, whether the connection can be reused)."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip().lower()
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        body = await read_chunked(reader)
    else:  # delimited by the server closing the connection
        return status, await reader.read(), False
    return status, body, headers.get("connection") != "close"


class Connection:
    """One keep-alive connection to a daphne port, reopened after errors."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, raw: bytes) -> tuple[int, bytes, bool]:
        """Send one request and read its response."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(raw)
        return await read_response(self.reader)

    def close(self) -> None:
        """Drop the socket; the next send reconnects."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def exchange(conn: Connection, raw: bytes, timeout: float) -> tuple[int | str, bytes]:
    """One request with a timeout; transport failures come back as the exception's name."""
    try:
        status, body, keep_alive = await asyncio.wait_for(conn.send(raw), timeout)
    except (TimeoutError, OSError, EOFError, ValueError, IndexError) as exc:
        conn.close()
        return type(exc).__name__, b""
    if not keep_alive:
        conn.close()
    return status, body


# --- scenarios ----------------------------------------------------------------
@dataclass
class Window:
    """The measured interval on the perf_counter clock."""

    start: float
    end: float


@dataclass
class Stats:
    """Outcomes and 2xx latencies of the requests completed inside the window."""

    outcomes: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def record(self, outcome: int | str, seconds: float) -> None:
        """Count one completed request."""
        self.outcomes[outcome] += 1
        if isinstance(outcome, int) and 200 <= outcome < 300:
            self.latencies.append(seconds)


async def worker(conn: Connection, *, requests: list[bytes], turns, window: Window, stats: Stats, timeout: float):
    """Send requests back to back until the window closes, recording those that finish inside it."""
    while True:
        started = time.perf_counter()
        if started >= window.end:
            return
        outcome, _ = await exchange(conn, requests[next(turns) % len(requests)], timeout)
        finished = time.perf_counter()
        if window.start <= finished <= window.end:
            stats.record(outcome, finished - started)
        if not isinstance(outcome, int):
            await asyncio.sleep(0.05)  # do not spin while the server is down


async def run_scenario(requests: list[bytes], ports: list[int], pids: list[int], args) -> tuple[Stats, tuple]:
    """Drive `requests` round robin over `--concurrency` connections; return stats and CPU samples."""
    conns = [Connection(ports[i % len(ports)]) for i in range(args.concurrency)]
    turns = itertools.count()
    now = time.perf_counter()
    window = Window(start=now + args.warmup, end=now + args.warmup + args.seconds)
    stats = Stats()
    tasks = [
        asyncio.create_task(
            worker(conn, requests=requests, turns=turns, window=window, stats=stats, timeout=args.timeout)
        )
        for conn in conns
    ]
    await asyncio.sleep(max(0.0, window.start - time.perf_counter()))
    before = CpuSample.take(pids)
    await asyncio.sleep(max(0.0, window.end - time.perf_counter()))
    after = CpuSample.take(pids)
    await asyncio.gather(*tasks)
    for conn in conns:
        conn.close()
    return stats, (before, after)


def login_request(index: int) -> bytes:
    """A login request for bench user `index`."""
    body = {"email": BENCH_EMAIL.format(index), "password": BENCH_PASSWORD}
    return build_request("POST", "/api/v1/auth/login", body=body)


async def fetch_tokens(users: int, ports: list[int], concurrency: int, timeout: float) -> list[str]:
    """Log every bench user in once and return their access tokens (also checks the credentials)."""
    pending = list(range(users))
    tokens: list[str] = []

    async def drain(conn: Connection) -> None:
        """Log users in over one connection until none are left."""
        while pending:
            index = pending.pop()
            status, body = await exchange(conn, login_request(index), timeout)
            if status != 200:
                sys.exit(f"login of {BENCH_EMAIL.format(index)} failed: {status} {body[:300]!r}")
            tokens.append(json.loads(body)["access_token"])

    conns = [Connection(ports[i % len(ports)]) for i in range(min(concurrency, users))]
    await asyncio.gather(*(drain(conn) for conn in conns))
    for conn in conns:
        conn.close()
    return tokens


# --- report -------------------------------------------------------------------
def print_header(args: argparse.Namespace, versions: dict[str, str]) -> None:
    """Print the machine, the software versions and the exact command."""
    print_machine(versions, args)
    print(
        f"load        {args.concurrency} connections over {args.processes} daphne process(es), "
        f"{args.warmup:g} s warm-up + {args.seconds:g} s measured per scenario, {args.users} users"
    )
    print(load_avg_line("before starting"))


def print_scenario(name: str, stats: Stats, samples: tuple, seconds: float, pids: list[int]) -> dict:
    """Print one scenario's figures and return them for the summary."""
    before, after = samples
    wall = after.wall - before.wall
    total = sum(stats.outcomes.values())
    ok = len(stats.latencies)
    errors = {k: v for k, v in stats.outcomes.items() if not (isinstance(k, int) and 200 <= k < 300)}
    p50, p95, p99 = (percentile_ms(stats.latencies, f) for f in (0.50, 0.95, 0.99))
    server, client = after.server - before.server, after.client - before.client
    busy = (after.machine_busy - before.machine_busy) / CLK_TCK
    span = (after.machine_total - before.machine_total) / CLK_TCK
    print(f"\n[{name}]")
    print(f"  requests     {total} ({ok} 2xx)")
    print(f"  errors       {', '.join(f'{k}: {v}' for k, v in sorted(errors.items(), key=str)) or 'none'}")
    print(f"  throughput   {ok / seconds:.1f} req/s (2xx per measured second)")
    print(f"  latency ms   p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {max(stats.latencies, default=0) * 1000:.1f}")
    print(f"  server CPU   {server:.2f} s in {wall:.2f} s = {server / wall:.2f} cores (all daphne processes)")
    print(
        f"  per request  {1000 * server / max(total, 1):.1f} ms of server CPU (comparable across busy and idle machines)"
    )
    print(f"  client CPU   {client:.2f} s = {client / wall:.2f} cores (this load generator)")
    print(f"  machine CPU  {busy:.2f} of {span:.2f} core-seconds busy ({100 * busy / span if span else 0:.0f}%)")
    print(f"  other CPU    {busy - server - client:.2f} s (PostgreSQL, Redis and anything else running)")
    print("  " + load_avg_line("at the end"))
    print(f"  server RSS   {sum(peak_rss_mib(pid) for pid in pids):.0f} MiB peak so far (VmHWM, all daphne processes)")
    return {
        "rps": ok / seconds,
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "server": server / wall,
        "errors": total - ok,
        "cpu_ms": 1000 * server / max(total, 1),
    }


def print_summary(results: dict[str, dict]) -> None:
    """One line per scenario, for pasting."""
    print("\nscenario      req/s    p50 ms    p95 ms    p99 ms  server cores  CPU ms/req  errors")
    for name, r in results.items():
        print(
            f"{name:<10}{r['rps']:>9.1f}{r['p50']:>10.1f}{r['p95']:>10.1f}{r['p99']:>10.1f}"
            f"{r['server']:>14.2f}{r['cpu_ms']:>12.1f}{r['errors']:>8}"
        )


# --- main ---------------------------------------------------------------------
async def measure(args: argparse.Namespace, servers: list[Server]) -> dict[str, dict]:
    """Obtain tokens, then run each scenario in turn."""
    ports = [server.port for server in servers]
    pids = [server.process.pid for server in servers]
    tokens = await fetch_tokens(args.users, ports, args.concurrency, args.timeout)
    requests = {
        "login": [login_request(i) for i in range(args.users)],
        "me": [build_request("GET", "/api/v1/auth/me", token=token) for token in tokens],
    }
    results = {}
    for name in args.scenarios:
        stats, samples = await run_scenario(requests[name], ports, pids, args)
        results[name] = print_scenario(name, stats, samples, args.seconds, pids)
    return results


def main(argv: list[str] | None = None) -> None:
    """Prepare the engines and data, start daphne, measure, print and clean up."""
    args = parse_args(argv)
    stop_on_sigterm()  # a plain SIGTERM should still stop the daphne processes in the finally below
    env = server_env(args)
    versions = software_versions(args)
    prepare_data(args, env)
    print_header(args, versions)
    with tempfile.TemporaryDirectory(prefix="mdc-bench-") as log_dir:
        servers = start_servers(free_ports(args.processes), env, Path(log_dir))
        try:
            for server in servers:
                wait_healthy(server)
            results = asyncio.run(measure(args, servers))
        finally:
            stop_servers(servers)
        if any(result["errors"] for result in results.values()):
            for server in servers:
                print(f"\ndaphne :{server.port} printed (access lines left out):\n{server.problems()}")
    print_summary(results)


if __name__ == "__main__":
    main()
