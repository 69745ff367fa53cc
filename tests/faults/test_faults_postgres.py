"""PostgreSQL stopped and restarted under REST and live writes (issue 15, faults).

While it is down: REST answers clean 503 problems (never a 500), live sockets that write are closed with 1011
so that providers resend, new sockets are closed with 1011, and `/readyz` answers 503 naming the database.
Once it is back: `/readyz` answers 200, REST and live writes succeed again, and every acknowledged write (201s,
acknowledged updates) is stored. `make test` stops it once; `make faults` FAULTS_ROUNDS times, with longer
edit streams.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from collab.tests.yclient import HocuspocusClient, YWebsocketClient
from tests.faults.servers import ROUNDS, Editor, Stack, missing_words, stored_text

pytestmark = [pytest.mark.live, pytest.mark.faults]

LIVE_MARKDOWN = "# Title\n\nFirst paragraph.\n\nSecond paragraph.\n"
EDIT_SECONDS = 1.0 if ROUNDS == 1 else 4.0
PROBLEM = "application/problem+json"


@pytest.fixture
def stack(stack_with):
    # A short wait for a pooled connection (5 s by default) keeps the outage phase of the test short.
    return stack_with(DATABASE_POOL_TIMEOUT="2")


class Writes:
    """The REST side of the scenario: a signed-in client creating documents, and what was acknowledged."""

    def __init__(self, stack: Stack, server, token: str, workspace_id: str) -> None:
        self.stack, self.server, self.workspace_id = stack, server, workspace_id
        self.root = httpx.AsyncClient(base_url=server.http, timeout=60)
        self.api = httpx.AsyncClient(base_url=f"{server.http}/api/v1", timeout=60,
                                     headers={"Authorization": f"Bearer {token}"})
        self.created: list[str] = []  # titles of the documents created with a 201

    async def create_document(self, title: str) -> httpx.Response:
        response = await self.api.post(f"/workspaces/{self.workspace_id}/documents", json={"title": title, "content": "x\n"})
        if response.status_code == 201:
            self.created.append(title)
        return response

    def assert_503_problem(self, response: httpx.Response) -> None:
        assert response.status_code == 503, (
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:500]}\n"
            f"{self.stack.logs()}"
        )
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.headers.get("Retry-After")
        body = response.json()
        assert body["status"] == 503 and body["type"].endswith("service-unavailable"), body

    async def wait_ready(self, timeout: float = 90.0) -> list[int]:
        """Poll /readyz until it answers 200; the statuses seen on the way."""
        seen: list[int] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                response = await self.root.get("/readyz")
                seen.append(response.status_code)
                if response.status_code == 200:
                    return seen
                self.assert_503_problem(response)
            except httpx.TransportError:
                seen.append(0)
            await asyncio.sleep(0.25)
        raise AssertionError(f"/readyz not 200 within {timeout:.0f} s: {seen[-10:]}")

    async def close(self) -> None:
        await self.root.aclose()
        await self.api.aclose()


async def _while_down(writes: Writes, document_id: str, token: str, editors: list[Editor]) -> None:
    """REST answers 503 problems, /readyz names the database, live writers and newcomers are closed with 1011."""
    server = writes.server
    ready, detail, create, me = await asyncio.gather(
        writes.root.get("/readyz"), writes.api.get(f"/documents/{document_id}"),
        writes.create_document("during the outage"), writes.api.get("/auth/me"),
    )
    for response in (ready, detail, create, me):
        writes.assert_503_problem(response)
    assert ready.json()["checks"]["database"] == "failing"
    # Live writes: the update cannot be stored, the socket is closed with 1011 so that the provider resends it.
    for editor in editors:
        await editor.type_one()
    codes = await asyncio.gather(*(editor.client.wait_closed(60) for editor in editors))
    assert codes == [1011] * len(editors), f"{codes}\n{writes.stack.logs()}"
    for editor in editors:
        editor.closes.append(editor.client.close_code)

    # A new socket cannot be served either: closed with 1011 too, in both dialects.
    async def newcomer(dialect) -> int | None:
        if dialect is YWebsocketClient:
            client = await YWebsocketClient.connect(server.ws, document_id, token, events=False)
        else:
            client = await HocuspocusClient.connect(server.ws, document_id, token)
        return await client.wait_closed(60)

    codes = await asyncio.gather(newcomer(YWebsocketClient), newcomer(HocuspocusClient))
    assert codes == [1011, 1011], f"{codes}\n{writes.stack.logs()}"


def test_faults_postgres_restart_during_rest_and_live_writes(stack):
    server = stack.daphne()
    _, token = stack.account(server)
    http = httpx.Client(base_url=f"{server.http}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    workspace_id = http.post("/workspaces", json={"name": "Faults"}).json()["id"]
    created = http.post(f"/workspaces/{workspace_id}/documents", json={"title": "Live", "content": LIVE_MARKDOWN})
    assert created.status_code == 201, created.text
    document_id = created.json()["id"]
    alpha = Editor(server, document_id, token, dialect="hocuspocus", block=1, word="alpha")
    beta = Editor(server, document_id, token, dialect="ywebsocket", block=2, word="beta")
    report: list[str] = []

    async def edit_and_write(writes: Writes, title: str) -> None:
        """Both editors type for a while, a document is created: all of it acknowledged."""
        await asyncio.gather(alpha.type_for(EDIT_SECONDS), beta.type_for(EDIT_SECONDS))
        assert (await writes.create_document(title)).status_code == 201
        everything = alpha.words + beta.words
        await alpha.client.wait_for(
            lambda: not missing_words(alpha.text, everything) and not missing_words(beta.text, everything), 30
        )
        await alpha.acknowledged()
        await beta.client.sync_round_trip()
        assert (await writes.api.get("/auth/me")).status_code == 200

    async def scenario():
        writes = Writes(stack, server, token, workspace_id)
        await alpha.connect()
        await beta.connect()
        for round_ in range(ROUNDS):
            await edit_and_write(writes, f"before {round_}")
            assert (await writes.root.get("/readyz")).status_code == 200
            await asyncio.to_thread(stack.postgres.stop)
            await _while_down(writes, document_id, token, [alpha, beta])
            await asyncio.to_thread(stack.postgres.start)
            statuses = await writes.wait_ready()
            report.append(f"round {round_}: /readyz {statuses[0]}..{statuses[-1]} ({len(statuses)} polls)")
            await alpha.connect()  # the providers reconnect with what they hold and resend it
            await beta.connect()
            await edit_and_write(writes, f"after {round_}")
        await writes.close()
        return writes.created

    acknowledged_documents = asyncio.run(asyncio.wait_for(scenario(), 600))

    # Every word typed (acknowledged before the outage, or resent after it) is stored; so is every 201.
    stored = stored_text(stack.env["DATABASE_URL"], document_id)
    assert missing_words(stored, alpha.words + beta.words) == []
    assert stored == alpha.text == beta.text
    listed = http.get(f"/workspaces/{workspace_id}/documents", params={"limit": 100}).json()
    titles = {document["title"] for document in listed["documents"]}
    assert set(acknowledged_documents) <= titles
    assert "during the outage" not in titles  # a 503 wrote nothing
    print(f"\npostgres restarts: {ROUNDS}; words typed {alpha.typed + beta.typed}; documents created "
          f"{len(acknowledged_documents)}; closes alpha {alpha.closes} beta {beta.closes}; " + "; ".join(report))
