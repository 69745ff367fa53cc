"""Redis restarted under live editing (issue 15, faults): rooms on two processes recover and converge, no
acknowledged update is lost, and REST calls that use the cache and the rate limits never answer 500.

Redis runs without persistence: a restart forgets the channel layer's groups, the cache and every rate-limit
counter. Sockets may be closed (1011) by the fault; the editors reconnect and resend, as providers do.
`make test` restarts it once; `make faults` FAULTS_ROUNDS times, with longer edit streams.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
import pytest

from tests.faults.servers import PASSWORD, ROUNDS, Editor, Stack, missing_words, stored_text

pytestmark = [pytest.mark.live, pytest.mark.faults]

LIVE_MARKDOWN = "# Title\n\nFirst paragraph.\n\nSecond paragraph.\n"
CONVERGE_SECONDS = 5.0  # the bound: once Redis is back, rooms converge within 5 s
EDIT_SECONDS = 2.0 if ROUNDS == 1 else 6.0


@pytest.fixture
def stack(stack_with):
    # The probe stays under the API limit; wrong-password logins reach the login limit (10/min, 429) in longer runs.
    return stack_with(RATE_LIMIT_API="100000/minute")


def _unacceptable(response: httpx.Response) -> str | None:
    """None when the answer is acceptable under a fault: success, a 4xx, or a 503 problem; else what is wrong."""
    if response.status_code < 500:
        return None
    if response.status_code == 503 and response.headers.get("content-type", "").startswith("application/problem+json"):
        return None
    return f"{response.request.method} {response.request.url.path} -> {response.status_code} {response.text[:300]}"


async def _rest_probe(server, token: str, email: str, workspace_id: str, until: asyncio.Event, seen: list) -> None:
    """Calls that go through the rate limits and the token cache, over and over until `until` is set."""
    async with httpx.AsyncClient(base_url=f"{server.http}/api/v1", timeout=30) as http:
        auth = {"Authorization": f"Bearer {token}"}
        while not until.is_set():
            for method, path, body, headers in (
                ("GET", "/auth/me", None, auth),
                ("GET", f"/workspaces/{workspace_id}/documents", None, auth),
                ("POST", "/auth/login", {"email": email, "password": PASSWORD + "-wrong"}, {}),
            ):
                try:
                    response = await http.request(method, path, json=body, headers=headers)
                except httpx.TransportError as error:
                    seen.append(("transport", repr(error)))
                    continue
                seen.append((response.status_code, _unacceptable(response)))
            await asyncio.sleep(0.05)


@dataclass
class Outcome:
    alpha: Editor
    beta: Editor
    rest: list = field(default_factory=list)  # (status, what is wrong or None) of every REST call of the probe
    report: list[str] = field(default_factory=list)


async def _converge(stack: Stack, alpha: Editor, beta: Editor, what: str) -> float:
    """Wait (CONVERGE_SECONDS at most) until both editors hold every word of both; the seconds it took."""
    started = time.monotonic()
    words = alpha.words + beta.words
    try:
        await alpha.client.wait_for(lambda: not missing_words(alpha.text, words) and not missing_words(beta.text, words),
                                    CONVERGE_SECONDS)
    except AssertionError:
        raise AssertionError(
            f"{what}: not converged within {CONVERGE_SECONDS} s; alpha misses {missing_words(alpha.text, words)}, "
            f"beta misses {missing_words(beta.text, words)}; closes alpha {alpha.closes} beta {beta.closes}\n"
            f"{stack.logs()}"
        ) from None
    return time.monotonic() - started


def redis_restart_scenario(stack: Stack, rounds: int) -> Outcome:
    """Two editors on two processes type while Redis restarts `rounds` times, a REST probe running meanwhile."""
    one, two = stack.daphne(), stack.daphne()
    email, token = stack.account(one)
    api = httpx.Client(base_url=f"{one.http}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    workspace_id = api.post("/workspaces", json={"name": "Faults"}).json()["id"]
    created = api.post(f"/workspaces/{workspace_id}/documents", json={"title": "Live", "content": LIVE_MARKDOWN})
    assert created.status_code == 201, created.text
    document_id = created.json()["id"]
    # The channel layer (Redis) is what carries edits between the two processes.
    outcome = Outcome(Editor(one, document_id, token, dialect="hocuspocus", block=1, word="alpha"),
                      Editor(two, document_id, token, dialect="ywebsocket", block=2, word="beta"))
    alpha, beta = outcome.alpha, outcome.beta

    async def scenario():
        await alpha.connect()
        await beta.connect()
        for round_ in range(rounds):
            stop_probe = asyncio.Event()
            probe = asyncio.create_task(_rest_probe(one, token, email, workspace_id, stop_probe, outcome.rest))
            typing = asyncio.gather(alpha.type_for(EDIT_SECONDS), beta.type_for(EDIT_SECONDS))
            await asyncio.sleep(EDIT_SECONDS / 3)
            await asyncio.to_thread(stack.redis.restart, 1.0)
            await typing
            stop_probe.set()
            await probe
            for editor in (alpha, beta):  # a socket closed by the fault after the last word: the provider reconnects
                if editor.client.close_code is not None:
                    editor.closes.append(editor.client.close_code)
                    await editor.connect()
            took = await _converge(stack, alpha, beta, f"round {round_}, after the restart")
            # Live again across processes: a fresh word on each side reaches the other.
            await alpha.type_one()
            await beta.type_one()
            took_fresh = await _converge(stack, alpha, beta, f"round {round_}, fresh words")
            await alpha.acknowledged()
            await beta.client.sync_round_trip()
            outcome.report.append(f"round {round_}: converged in {took:.2f} s, fresh words in {took_fresh:.2f} s")

    asyncio.run(asyncio.wait_for(scenario(), 120 + 60 * rounds))
    # Afterwards the cache and the rate limits work again.
    assert api.get("/auth/me").status_code == 200
    return outcome


def test_faults_redis_restart_during_live_editing(stack):
    outcome = redis_restart_scenario(stack, ROUNDS)
    alpha, beta = outcome.alpha, outcome.beta
    # Nothing typed, and so nothing acknowledged, is missing from what PostgreSQL holds.
    stored = stored_text(stack.env["DATABASE_URL"], alpha.document_id)
    assert missing_words(stored, alpha.words + beta.words) == []
    assert stored == alpha.text == beta.text
    bad = [problem for _, problem in outcome.rest if problem]
    assert not bad, "\n".join(bad[:10]) + "\n" + stack.logs()
    assert any(status == 200 for status, _ in outcome.rest)
    print(f"\nredis restarts: {ROUNDS}; words typed {alpha.typed + beta.typed}; REST calls {len(outcome.rest)} "
          f"(statuses {sorted({status for status, _ in outcome.rest}, key=str)}); socket closes alpha {alpha.closes} "
          f"beta {beta.closes}; " + "; ".join(outcome.report))
