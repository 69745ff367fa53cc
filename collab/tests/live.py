"""Helpers of the live-collaboration tests: stored state, tokens, connected clients, edits and refusals."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import pycrdt
import websockets
from django.db import connection
from django.utils import timezone

from accounts.services.sessions import ClientInfo, session_start
from accounts.tokens import issue_access_token
from collab.markdown import fragment_to_markdown, parse_markdown, serialize_markdown
from collab.models import CollabState, CollabUpdate
from collab.tests.yclient import HocuspocusClient, HocuspocusSocket, YWebsocketClient

LIVE_TITLE = "Title"
LIVE_MARKDOWN = f"# {LIVE_TITLE}\n\nFirst paragraph.\n\nSecond paragraph.\n"


def normalized(markdown: str) -> str:
    """What the server writes back for `markdown` (one parse/serialize pass)."""
    return serialize_markdown(parse_markdown(markdown))


def markdown_of(client) -> str:
    """The markdown of a client's `content` fragment."""
    return fragment_to_markdown(client.fragment)


def stored_doc(document_id) -> pycrdt.Doc:
    """The document the database holds: compacted state plus every later update row."""
    record = CollabState.objects.get(document_id=document_id)
    doc = pycrdt.Doc()
    if record.state:
        doc.apply_update(bytes(record.state))
    for update in CollabUpdate.objects.filter(document_id=document_id, seq__gt=record.state_seq).order_by("seq"):
        doc.apply_update(bytes(update.update))
    return doc


def stored_markdown(document_id) -> str:
    return fragment_to_markdown(stored_doc(document_id).get("content", type=pycrdt.XmlFragment))


def stored_seqs(document_id) -> list[int]:
    return list(CollabUpdate.objects.filter(document_id=document_id).order_by("seq").values_list("seq", flat=True))


def assert_contiguous_log(document_id) -> CollabState:
    """Update rows run from state_seq + 1 to last_seq without a gap; returns the state record."""
    record = CollabState.objects.get(document_id=document_id)
    assert stored_seqs(document_id) == list(range(record.state_seq + 1, record.last_seq + 1))
    return record


def token_issued_at(user, issued_at) -> str:
    """A correctly signed access token of a live refresh family of `user`, issued at `issued_at`."""
    family = session_start(user=user, client=ClientInfo()).session_id
    token, _ = issue_access_token(user_id=user.pk, session_id=family, now=issued_at)
    return token


def expired_token(user) -> str:
    """A correctly signed access token of a live session whose `exp` has passed."""
    return token_issued_at(user, timezone.now() - timedelta(hours=1))


def block_text(client, index: int) -> pycrdt.XmlText:
    """The first text run of a top-level block of a client's fragment."""
    return client.fragment.children[index].children[0]


def append_to_block(client, index: int, text: str) -> None:
    """A local edit: `text` appended to a top-level block (sent to the server by the client)."""
    run = block_text(client, index)
    run.insert(len(run), text)


async def connect(dialect: str, base: str, document_id, token: str, *, events: bool = True):
    """A client of `dialect` ("ywebsocket" or "hocuspocus") of the document, signed in with `token`; `events`
    asks a y-websocket client for the JSON events."""
    if dialect == "ywebsocket":
        return await YWebsocketClient.connect(base, document_id, token, events=events)
    return await HocuspocusClient.connect(base, document_id, token)


async def synced_clients(steps, server, document_id, *tokens: str, dialect: str = "ywebsocket") -> list:
    """A client of `dialect` per token, kept by `steps`, each of them synced."""
    clients = [steps.keep(await connect(dialect, server.ws, document_id, token)) for token in tokens]
    for client in clients:
        await client.wait_for(lambda c=client: c.synced.is_set())
    return clients


async def open_both_dialects(steps, server, document_id, token: str):
    """A y-websocket client and a Hocuspocus document on a socket of its own (kept by `steps`), both signed in
    with `token`, synced, and with every message the Hocuspocus side sent acknowledged; returns (yws, hp)."""
    yws = steps.keep(await YWebsocketClient.connect(server.ws, document_id, token))
    hub = steps.keep(await HocuspocusSocket.connect(server.ws))
    hp = await hub.open(document_id, token)
    for client in (yws, hp):
        await client.wait_for(lambda c=client: c.synced.is_set())
    await hp.wait_for(lambda: len(hp.statuses) == len(hp.sent))
    return yws, hp


async def refused_edits(yws, hp) -> int:
    """An edit through each dialect of a read-only connection, waited on until refused (y-websocket: an `error`
    event; Hocuspocus: one more status); returns how many statuses the Hocuspocus side had before its edit."""
    acknowledged = len(hp.statuses)
    append_to_block(yws, 1, " refused")
    append_to_block(hp, 2, " refused too")
    await yws.wait_for(lambda: yws.events_of("error"))
    await hp.wait_for(lambda: len(hp.statuses) > acknowledged)
    return acknowledged


async def refusal(url: str, **headers) -> tuple[int | None, list]:
    """Connect, read until the server closes; (close code, frames received before the close)."""
    frames: list = []
    async with websockets.connect(url, additional_headers=headers or None) as socket:
        try:
            async for frame in socket:
                frames.append(frame)
        except websockets.ConnectionClosed:
            pass
        await socket.wait_closed()
    return socket.close_code, frames


def api(server, token: str | None = None) -> httpx.AsyncClient:
    """An HTTP client of a live server's REST API, signed in with `token`."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.AsyncClient(base_url=f"{server.http}/api/v1", headers=headers, timeout=10)


async def settle(*clients, timeout: float = 10.0) -> None:
    """Wait until every client holds the same document as the first one."""
    first = clients[0]
    await first.wait_for(lambda: all(client.text == first.text for client in clients), timeout)
    await asyncio.sleep(0)


def _other_backends() -> list[tuple]:
    """Sessions of other processes (the live servers) running a statement or a transaction on the test database:
    (pid, state, wait event, start of their query)."""
    with connection.cursor() as cursor:
        # Inside a transaction, PostgreSQL answers every read of the activity view from its first one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid, state, wait_event_type, left(query, 120) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
            " AND state IS DISTINCT FROM 'idle'"
        )
        return cursor.fetchall()


def wait_servers_idle(timeout: float = 30.0, quiet: float = 0.12) -> None:
    """Wait until no live server has used the database for `quiet` seconds; AssertionError naming the busy
    sessions when that does not happen within `timeout` seconds.

    Servers keep idle pooled connections between jobs, so this waits for every one of them
    to be idle: rooms closed by the test have then finished materializing and compacting.
    """
    deadline = time.monotonic() + timeout
    quiet_since = time.monotonic()
    busy: list[tuple] = []
    while time.monotonic() < deadline:
        busy = _other_backends()
        if busy:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            return
        time.sleep(0.02)
    sessions = "; ".join(
        f"pid {pid} {state} (waiting on {wait or 'nothing'}): {query!r}" for pid, state, wait, query in busy
    )
    raise AssertionError(
        f"the live servers did not leave the database idle for {quiet} s within {timeout} s: {sessions}"
    )
