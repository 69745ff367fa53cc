#!/usr/bin/env python3
"""The AI proxy (`POST ai/generate`, streamed) through one daphne on PostgreSQL and Redis, against the fake
providers on loopback; prints figures.

    python bench/ai_proxy.py [--ttft 100] [--streams 50] [--cancels 20] [--scenarios ttft,concurrent,cancel]

Three scenarios, each printed with the machine's state:
  * ttft: time to the first `event: delta` of a streamed `ai/generate` (openai, first token after 50 ms), one
    request at a time on a keep-alive connection, against the same call made straight to the fake with the
    official async openai SDK; the proxy's added latency is the difference;
  * concurrent: 50 streams of about 10 s held open in the one daphne while another process sends
    `GET auth/me` every 20 ms; auth/me latency against a run with no streams, the streams' completion, and
    daphne's CPU;
  * cancel: a stream whose client closes its connection after the first delta; the time from the close to the
    fake provider seeing the proxy's connection to it closed.
It asserts nothing; see bench/README.md ("AI proxy benchmark").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version

import httpx
from _common import (
    HIGH_RATE,
    RequestFailed,
    build_request,
    load_avg_line,
    login_token,
    machine_cpu_ticks,
    one_daphne,
    print_machine,
    process_cpu_seconds,
    scenario_list,
    server_env,
    setup_django,
    software_versions,
    stop_on_sigterm,
)
from _common import percentile_ms as ms

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/mdcreator_bench_ai"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
EMAIL = "ai-bench@bench.mdcreator.test"
PASSWORD = "Proxy-Probe-42x"
OPENAI_KEY, ANTHROPIC_KEY = "sk-server-openai", "sk-ant-server"  # the fakes' default keys
MODEL = "gpt-4o-mini"  # the proxy's default openai model, asked for explicitly on the direct calls
SCENARIOS = ("ttft", "concurrent", "cancel")
TARGETS = {"ttft": "adds <= 15 ms p95", "concurrent": "auth/me p99 <= 100 ms", "cancel": "stops within 100 ms"}
FILLER = " ".join(f"word{index:02d}" for index in range(60))  # 60 words, 419 characters: the reply takes 200


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ttft", type=int, default=100, help="measured streamed requests, each way (100)")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured requests each way before ttft (10)")
    parser.add_argument(
        "--first-token-delay",
        type=float,
        default=0.05,
        help="the fake's pause before the first token in ttft, seconds (0.05)",
    )
    parser.add_argument("--streams", type=int, default=50, help="streams held open at once in concurrent (50)")
    parser.add_argument("--chunks", type=int, default=40, help="pieces of each concurrent stream (40)")
    parser.add_argument("--interval", type=float, default=0.25, help="seconds between pieces (0.25)")
    parser.add_argument(
        "--me-interval",
        type=float,
        default=0.02,
        help="seconds from one auth/me to the next; 0: as fast as it can (0.02)",
    )
    parser.add_argument("--baseline-seconds", type=float, default=4.0, help="auth/me with no streams (4)")
    parser.add_argument("--cancels", type=int, default=20, help="streams closed after their first delta (20)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma list out of {', '.join(SCENARIOS)}")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    args.scenarios = scenario_list(parser, args.scenarios, SCENARIOS)
    if min(args.ttft, args.streams, args.chunks, args.cancels) < 1 or args.warmup < 0 or args.me_interval < 0:
        parser.error("--ttft, --streams, --chunks and --cancels must be >= 1, --warmup and --me-interval >= 0")
    return args


def ai_env(args: argparse.Namespace, fakes) -> dict[str, str]:
    """daphne's environment: the bench engines, the fakes as both providers, limits and quota nothing reaches."""
    env = server_env(args)
    env.update(
        OPENAI_BASE_URL=fakes.openai_base_url,
        ANTHROPIC_BASE_URL=fakes.anthropic_base_url,
        OPENAI_API_KEY=OPENAI_KEY,
        ANTHROPIC_API_KEY=ANTHROPIC_KEY,
        RATE_LIMIT_AI=HIGH_RATE,
        RATE_LIMIT_AI_HOURLY=HIGH_RATE,
    )
    env["AI_MONTHLY_TOKEN_QUOTA"] = json.dumps(dict.fromkeys(("free", "pro", "team", "enterprise")))  # no quota
    return env


def prepare() -> None:
    """Migrate; the bench user (on the server's keys, which have no quota here)."""
    from django.core.management import call_command

    from accounts.models import User

    call_command("migrate", interactive=False, verbosity=0, skip_checks=True)
    if not User.objects.filter(email=EMAIL).exists():
        User.objects.create_user(email=EMAIL, password=PASSWORD, email_verified=True)


def login(port: int, timeout: float) -> str:
    return login_token(port, timeout, EMAIL, PASSWORD)


def spread(values: list[float], *fractions: float) -> str:
    return "  ".join(f"p{round(f * 100)} {ms(values, f):.1f}" for f in fractions) + f"  max {max(values) * 1000:.1f}"


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


# --- the auth/me probe (a process of its own, so the fakes' threads in this one cannot delay it) ---------------
def probe_me(port: int, token: str, seconds: float, interval: float) -> tuple[list[float], int]:
    """Sequential `GET auth/me` on one keep-alive connection for `seconds`, one every `interval` (start to start;
    at once when the last one took longer): (latencies in seconds, non-200 answers). Five unmeasured first."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", headers=headers, timeout=30) as http:
        for _ in range(5):
            http.get("/auth/me")
        latencies, failed = [], 0
        next_at = time.monotonic()
        end = next_at + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            failed += http.get("/auth/me").status_code != 200
            latencies.append(time.perf_counter() - started)
            next_at = max(next_at + interval, time.monotonic())
            time.sleep(max(0.0, next_at - time.monotonic()))
    return latencies, failed


class Usage:
    """CPU of daphne and of this process (the fakes and the stream clients), and the machine's, over a span."""

    def __init__(self, daphne_pid: int) -> None:
        self.pid = daphne_pid
        self.wall, self.daphne, self.own = time.monotonic(), process_cpu_seconds(daphne_pid), time.process_time()
        self.busy, self.total = machine_cpu_ticks()

    def since(self) -> dict[str, float]:
        busy, total = machine_cpu_ticks()
        return {
            "wall": time.monotonic() - self.wall,
            "daphne": process_cpu_seconds(self.pid) - self.daphne,
            "own": time.process_time() - self.own,
            "machine": (busy - self.busy) / max(1, total - self.total),
        }


def cpu_line(usage: dict[str, float]) -> str:
    return (
        f"  CPU s         daphne {usage['daphne']:.2f} ({usage['daphne'] / usage['wall']:.2f} cores over "
        f"{usage['wall']:.1f} s)  bench process {usage['own']:.2f} (fakes and clients)  "
        f"machine {usage['machine'] * 100:.0f}% busy"
    )


# --- ttft ---------------------------------------------------------------------------------------------------
async def proxy_first_delta(http: httpx.AsyncClient, prompt: str) -> tuple[float, float]:
    """One streamed `ai/generate`: (monotonic time sent, seconds to the first `event: delta`); read to `done`."""
    sent, first, done = time.monotonic(), None, False
    async with http.stream("POST", "/ai/generate", json={"provider": "openai", "prompt": prompt, "stream": True}) as r:
        if r.status_code != 200:
            raise RequestFailed(f"ai/generate answered {r.status_code}: {(await r.aread())[:300]!r}")
        async for line in r.aiter_lines():
            if line == "event: delta" and first is None:
                first = time.monotonic()
            done = done or line == "event: done"
    if first is None or not done:
        raise RequestFailed("a streamed ai/generate ended without a delta or without done")
    return sent, first - sent


async def direct_first_delta(client, prompt: str) -> tuple[float, float]:
    """The proxy's own provider call made from here: (monotonic time sent, seconds to the first content)."""
    sent, first = time.monotonic(), None
    stream = await client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": prompt}],
        max_completion_tokens=1024,
        stream=True,
        stream_options={"include_usage": True},
    )
    async with stream:
        async for chunk in stream:
            if first is None and any(choice.delta and choice.delta.content for choice in chunk.choices):
                first = time.monotonic()
    return sent, first - sent


async def ttft(args: argparse.Namespace, server, token: str, fakes) -> dict:
    import openai

    port = server.port

    prompt = f"[[first-token-delay:{args.first_token_delay}]] Write a haiku about tea"
    headers = {"Authorization": f"Bearer {token}"}
    proxy, direct, to_fake = {"all": []}, {"all": []}, {"proxy": [], "direct": []}
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/api/v1", headers=headers, timeout=args.timeout
    ) as http:
        sdk = openai.AsyncOpenAI(api_key=OPENAI_KEY, base_url=fakes.openai_base_url, max_retries=0)
        async with sdk:
            for _ in range(args.warmup):
                await proxy_first_delta(http, prompt)
                await direct_first_delta(sdk, prompt)
            usage = Usage(server.process.pid)
            for _ in range(args.ttft):  # alternating, so drifts of the machine touch both alike
                for name, call, client, seen in (
                    ("proxy", proxy_first_delta, http, proxy),
                    ("direct", direct_first_delta, sdk, direct),
                ):
                    sent, seconds = await call(client, prompt)
                    seen["all"].append(seconds)
                    to_fake[name].append(fakes.requests[-1]["started_at"] - sent)
            cpu = usage.since()
    added = [p - d for p, d in zip(proxy["all"], direct["all"], strict=True)]
    result = {
        "proxy": proxy["all"],
        "direct": direct["all"],
        "added": added,
        "to_fake": to_fake,
        "cpu": cpu,
        "added_p95": ms(proxy["all"], 0.95) - ms(direct["all"], 0.95),
        "added_p50": ms(proxy["all"], 0.5) - ms(direct["all"], 0.5),
    }
    print(f"\n[ttft]  target: {TARGETS['ttft']}")
    print(f"  first delta ms   proxy   {spread(proxy['all'], 0.5, 0.95)}")
    print(f"                   direct  {spread(direct['all'], 0.5, 0.95)}  (openai SDK straight to the fake)")
    print(
        f"  added ms         p50 {result['added_p50']:.1f}  p95 {result['added_p95']:.1f}  (proxy minus direct, "
        f"per percentile; target {verdict(result['added_p95'] <= 15)})"
    )
    print(f"                   pairwise  {spread(added, 0.5, 0.95)}  (each proxy call minus the direct call after it)")
    print(f"  reaches fake ms  proxy   {spread(to_fake['proxy'], 0.5, 0.95)}  (sent to the fake's request start)")
    print(f"                   direct  {spread(to_fake['direct'], 0.5, 0.95)}")
    print(
        f"  daphne CPU ms    {cpu['daphne'] * 1000 / args.ttft:.1f} per proxied stream  ({args.ttft} each way, "
        f"sequential, after {args.warmup} warm-up; first token after {args.first_token_delay * 1000:.0f} ms)"
    )
    print(cpu_line(cpu))
    return result


# --- concurrent ---------------------------------------------------------------------------------------------
async def hold_stream(http: httpx.AsyncClient, prompt: str, first: asyncio.Event, firsts: list) -> dict:
    """One streamed `ai/generate` read to its end: deltas, whether `done` came, how long it took."""
    result = {"deltas": 0, "done": False, "error": None}
    started = time.monotonic()
    try:
        async with http.stream(
            "POST", "/ai/generate", json={"provider": "openai", "prompt": prompt, "stream": True}
        ) as response:
            if response.status_code != 200:
                result["error"] = f"HTTP {response.status_code}"
                return result
            async for line in response.aiter_lines():
                if line == "event: delta":
                    result["deltas"] += 1
                    if result["deltas"] == 1:
                        firsts.append(time.monotonic() - started)
                        first.set()
                elif line == "event: done":
                    result["done"] = True
                elif line == "event: error":
                    result["error"] = "error event"
    except httpx.HTTPError as error:
        result["error"] = type(error).__name__
    result["seconds"] = time.monotonic() - started
    return result


async def concurrent(args: argparse.Namespace, server, token: str, probe: ProcessPoolExecutor) -> dict:
    loop = asyncio.get_running_loop()
    port, pid = server.port, server.process.pid
    usage = Usage(pid)
    baseline, baseline_failed = await loop.run_in_executor(
        probe, probe_me, port, token, args.baseline_seconds, args.me_interval
    )
    baseline_cpu = usage.since()

    prompt = f"[[chunks:{args.chunks}]] [[interval:{args.interval}]] {FILLER}"
    stream_seconds = (args.chunks - 1) * args.interval
    limits = httpx.Limits(max_connections=args.streams + 5, max_keepalive_connections=args.streams + 5)
    http = httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}/api/v1",
        limits=limits,
        timeout=args.timeout,
        headers={"Authorization": f"Bearer {token}"},
    )
    firsts: list[float] = []
    async with http:
        usage = Usage(pid)
        launched = time.monotonic()
        events = [asyncio.Event() for _ in range(args.streams)]
        tasks = [asyncio.create_task(hold_stream(http, prompt, events[i], firsts)) for i in range(args.streams)]
        waiting = [asyncio.create_task(event.wait()) for event in events]
        await asyncio.wait(waiting, timeout=min(10.0, stream_seconds))  # every stream has begun (or gave up)
        for task in waiting:
            task.cancel()
        opened = len(firsts)
        probe_seconds = max(1.0, stream_seconds - (time.monotonic() - launched) - 1.0)
        during, during_failed = await loop.run_in_executor(
            probe, probe_me, port, token, probe_seconds, args.me_interval
        )
        streams = await asyncio.gather(*tasks)
        cpu = usage.since()
    completed = sum(1 for s in streams if s["done"] and not s["error"])
    errors = sorted({s["error"] for s in streams if s["error"]})
    seconds = [s["seconds"] for s in streams if "seconds" in s]
    result = {
        "baseline": baseline,
        "during": during,
        "completed": completed,
        "cpu": cpu,
        "p99": ms(during, 0.99),
        "baseline_p99": ms(baseline, 0.99),
    }
    pace = f"one every {args.me_interval * 1000:.0f} ms" if args.me_interval else "back to back"
    print(f"\n[concurrent]  target: {TARGETS['concurrent']}")
    print(
        f"  auth/me ms     no streams     {spread(baseline, 0.5, 0.95, 0.99)}  ({len(baseline)} requests, "
        f"{baseline_failed} not 200, {args.baseline_seconds:.0f} s, {pace})"
    )
    print(
        f"                 {args.streams} streams     {spread(during, 0.5, 0.95, 0.99)}  ({len(during)} requests, "
        f"{during_failed} not 200, {probe_seconds:.1f} s while all {opened} were open; target "
        f"{verdict(result['p99'] <= 100)})"
    )
    print(
        f"  streams        {completed}/{args.streams} ended with done; {opened} had a first delta "
        f"(p50 {ms(firsts, 0.5):.0f} ms, max {max(firsts, default=0) * 1000:.0f} ms after launch); "
        f"deltas min {min(s['deltas'] for s in streams)}, length s min {min(seconds, default=0):.2f} "
        f"max {max(seconds, default=0):.2f} (nominal {stream_seconds:.2f}); errors: {', '.join(errors) or 'none'}"
    )
    print(
        f"  daphne CPU     {cpu['daphne']:.2f} s during the streams ({cpu['daphne'] / cpu['wall']:.2f} cores), "
        f"{baseline_cpu['daphne']:.2f} s during the {args.baseline_seconds:.0f} s with no streams"
    )
    print(cpu_line(cpu))
    return result


# --- cancel -------------------------------------------------------------------------------------------------
async def cancel_once(port: int, token: str, prompt: str, timeout: float) -> float:
    """Stream on a raw connection, close it once the first delta is in; the monotonic time of the close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    body = {"provider": "openai", "prompt": prompt, "stream": True}
    writer.write(build_request("POST", "/api/v1/ai/generate", body=body, token=token))
    await writer.drain()
    received = b""
    while b"event: delta" not in received:
        chunk = await asyncio.wait_for(reader.read(65536), timeout)
        if not chunk:
            raise RequestFailed(f"the stream ended before its first delta: {received[:300]!r}")
        received += chunk
    closed_at = time.monotonic()
    writer.close()
    await writer.wait_closed()
    return closed_at


async def cancel(args: argparse.Namespace, server, token: str, fakes) -> dict:
    prompt = f"[[chunks:200]] [[interval:0.05]] {FILLER}"
    stops, missing, pieces = [], 0, []
    usage = Usage(server.process.pid)
    for _ in range(args.cancels):
        seen = len(fakes.disconnects)
        closed_at = await cancel_once(server.port, token, prompt, args.timeout)
        gone = await asyncio.to_thread(fakes.wait_disconnect, 5.0, count=seen + 1)
        if gone is None:
            missing += 1
            continue
        stops.append(gone["detected_at"] - closed_at)
        pieces.append(gone["chunks_sent"])
        await asyncio.sleep(0.05)  # the proxy records the call cut short
    cpu = usage.since()
    result = {"stops": stops, "missing": missing, "max": max(stops, default=float("inf")) * 1000}
    print(f"\n[cancel]  target: {TARGETS['cancel']}")
    if stops:
        print(
            f"  close to provider stop ms  {spread(stops, 0.5, 0.95)}  ({len(stops)} of {args.cancels}; "
            f"target {verdict(result['max'] <= 100)} on the max)"
        )
        print(
            f"  pieces the fake sent       at most {max(pieces)} of 200 before it saw the proxy leave "
            f"(median {sorted(pieces)[len(pieces) // 2]}; one every 50 ms)"
        )
    print(f"  never stopped              {missing} (no disconnect seen by the fake within 5 s)")
    print(cpu_line(cpu))
    return result


# --- main ---------------------------------------------------------------------------------------------------
def print_summary(results: dict[str, dict]) -> None:
    print("\nscenario    figure                              p50 ms   p95 ms   p99 ms   max ms  target")
    if r := results.get("ttft"):
        for label, values in (("first delta, proxy", r["proxy"]), ("first delta, direct", r["direct"])):
            print(
                f"ttft        {label:<34}{ms(values, 0.5):>8.1f}{ms(values, 0.95):>9.1f}{'':>9}"
                f"{max(values) * 1000:>9.1f}"
            )
        print(
            f"ttft        {'added (proxy - direct)':<34}{r['added_p50']:>8.1f}{r['added_p95']:>9.1f}{'':>18}  "
            f"{TARGETS['ttft']}: {verdict(r['added_p95'] <= 15)}"
        )
    if r := results.get("concurrent"):
        for label, values, target in (
            ("auth/me, no streams", r["baseline"], ""),
            ("auth/me, streams open", r["during"], f"  {TARGETS['concurrent']}: {verdict(r['p99'] <= 100)}"),
        ):
            print(
                f"concurrent  {label:<34}{ms(values, 0.5):>8.1f}{ms(values, 0.95):>9.1f}{ms(values, 0.99):>9.1f}"
                f"{max(values) * 1000:>9.1f}{target}"
            )
    if (r := results.get("cancel")) and r["stops"]:
        s = r["stops"]
        print(
            f"cancel      {'close to provider stop':<34}{ms(s, 0.5):>8.1f}{ms(s, 0.95):>9.1f}{'':>9}"
            f"{r['max']:>9.1f}  {TARGETS['cancel']}: {verdict(r['max'] <= 100 and not r['missing'])}"
        )


async def run(args: argparse.Namespace, server, fakes) -> dict[str, dict]:
    token = login(server.port, args.timeout)
    results = {}
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as probe:
        probe.submit(int).result()  # the probe's process is up before anything is timed
        for name in args.scenarios:
            fakes.reset()
            if name == "ttft":
                results[name] = await ttft(args, server, token, fakes)
            elif name == "concurrent":
                results[name] = await concurrent(args, server, token, probe)
            else:
                results[name] = await cancel(args, server, token, fakes)
    return results


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    stop_on_sigterm()  # still stops daphne (one_daphne's finally)
    os.environ.update(DATABASE_URL=args.database_url, REDIS_URL=args.redis_url)
    versions = software_versions(args)
    versions.update({name: version(name) for name in ("openai", "anthropic", "httpx")})
    setup_django(server_env(args))
    from documents.tests.ai_fakes import FakeProviders

    prepare()
    print_machine(versions, args)
    with FakeProviders() as fakes:
        print(f"providers   fake OpenAI and Anthropic in this process ({fakes.openai_base_url})")
        print(load_avg_line("before starting"))
        with one_daphne(ai_env(args, fakes), "mdc-bench-ai-") as server:
            results = asyncio.run(run(args, server, fakes))
    print("\n" + load_avg_line("at the end"))
    print_summary(results)


if __name__ == "__main__":
    main()
