"""Real Yjs clients for the tests: pycrdt documents speaking y-websocket or Hocuspocus over a socket."""

from __future__ import annotations

import asyncio
import json
import time

import pycrdt
import websockets

from collab import protocol as p
from collab.awareness import decode_update, encode_update

EMPTY_UPDATE = b"\x00\x00"


class _Client:
    """A pycrdt document kept in sync with the server; local edits are sent as updates.

    Everything the server says is recorded: `events` (JSON), `awareness` (raw
    updates), `statuses` (Hocuspocus SyncStatus), `auth`, `close_frames`, and
    `sent` keeps every update this client sent (step 2 replies included), in order.
    """

    def __init__(self, state: bytes | None = None) -> None:
        self.doc = pycrdt.Doc()
        if state:  # what a client kept from an earlier session (not sent as an edit)
            self.doc.apply_update(state)
        self.events: list[dict] = []
        self.awareness: list[bytes] = []
        self.statuses: list[int] = []
        self.close_frames: list[str] = []
        self.auth: list[tuple[int, str]] = []
        self.sent: list[bytes] = []
        self.pongs = 0
        self.step2_received = 0
        self.synced = asyncio.Event()
        self.socket = None
        self._reader = None
        self._applying_remote = False
        self._subscription = self.doc.observe(self._on_transaction)

    @property
    def edits(self) -> list[bytes]:
        """The sent updates that carry something (a client with nothing new answers step 1 with an empty one)."""
        return [update for update in self.sent if update != EMPTY_UPDATE]

    @property
    def fragment(self) -> pycrdt.XmlFragment:
        return self.doc.get("content", type=pycrdt.XmlFragment)

    @property
    def text(self) -> str:
        """The fragment as XML text (what convergence compares)."""
        return str(self.fragment)

    @property
    def close_code(self) -> int | None:
        return self.socket.close_code if self.socket is not None else None

    def _on_transaction(self, event) -> None:
        if not self._applying_remote:  # local edits only are sent
            asyncio.get_running_loop().create_task(self.send_update(event.update))

    def apply_remote(self, update: bytes) -> None:
        self._applying_remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying_remote = False

    def events_of(self, kind: str, **fields) -> list[dict]:
        """Received JSON events of one type whose fields equal `fields`."""
        return [e for e in self.events if e.get("type") == kind and all(e.get(k) == v for k, v in fields.items())]

    def awareness_states(self) -> dict[int, str]:
        """Latest JSON state per awareness client id, from every awareness update received."""
        states: dict[int, str] = {}
        for update in self.awareness:
            for client, _, state in decode_update(update):
                states[client] = state
        return states

    async def wait_for(self, predicate, timeout: float = 10.0) -> None:
        """Poll `predicate` until it is true; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.01)

    async def wait_closed(self, timeout: float = 10.0) -> int | None:
        """Wait for the server to close the socket; its close code."""
        await asyncio.wait_for(self.socket.wait_closed(), timeout)
        return self.close_code

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self._reader is not None:
            self._reader.cancel()

    async def send_update(self, update: bytes) -> None:
        self.sent.append(update)
        await self.send_sync(p.SYNC_UPDATE, update)

    async def send_sync(self, kind: int, data: bytes) -> None:
        raise NotImplementedError

    async def send_awareness(self, entries: list[tuple[int, int, str]]) -> None:
        raise NotImplementedError

    async def send_event(self, event: dict | str) -> None:
        raise NotImplementedError

    async def sync_round_trip(self) -> None:
        """Send sync step 1 and wait for the server's step 2, all binary: every frame the server queued for this
        socket before its answer has arrived (a stock client's way to know, without opting in to JSON)."""
        before = self.step2_received
        await self.send_sync(p.SYNC_STEP1, self.doc.get_state())
        await self.wait_for(lambda: self.step2_received > before)

    async def ping(self) -> None:
        """Send a JSON ping and wait for its pong: every earlier frame of this socket has been handled."""
        before = len(self.events_of("pong"))
        await self.send_event({"type": "ping"})
        await self.wait_for(lambda: len(self.events_of("pong")) > before)

    def _reply_step1(self, state_vector: bytes) -> None:
        update = self.doc.get_update(state_vector)
        self.sent.append(update)
        asyncio.get_running_loop().create_task(self.send_sync(p.SYNC_STEP2, update, reply=True))

    def _handle_sync(self, decoder: p.Decoder) -> None:
        kind, data = decoder.var_uint(), decoder.var_bytes()
        if kind == p.SYNC_STEP1:
            self._reply_step1(data)
        else:
            self.apply_remote(data)
            if kind == p.SYNC_STEP2:
                self.step2_received += 1
                self.synced.set()


class YWebsocketClient(_Client):
    """The y-websocket dialect at /ws/documents/{id}."""

    @classmethod
    async def connect(
        cls, base: str, document_id, token: str | None, *, state: bytes | None = None, events: bool = True,
        query: str = "", **headers,
    ) -> YWebsocketClient:
        """Connect; `events` asks for the JSON events (`?events=json`), which stock providers do not."""
        client = cls(state)
        params = [f"token={token}"] if token else []
        params += ["events=json"] if events else []
        params += [query] if query else []
        query = f"?{'&'.join(params)}" if params else ""
        client.socket = await websockets.connect(
            f"{base}/ws/documents/{document_id}{query}", additional_headers=headers or None, max_size=None
        )
        client._reader = asyncio.create_task(client._read())
        return client

    async def _read(self) -> None:
        try:
            async for frame in self.socket:
                self.handle(frame)
        except websockets.ConnectionClosed:
            pass

    def handle(self, frame) -> None:
        if isinstance(frame, str):
            self.events.append(json.loads(frame))
            return
        decoder = p.Decoder(frame)
        kind = decoder.var_uint()
        if kind == p.MSG_SYNC:
            self._handle_sync(decoder)
        elif kind == p.MSG_AWARENESS:
            self.awareness.append(decoder.var_bytes())

    def _reply_step1(self, state_vector: bytes) -> None:
        super()._reply_step1(state_vector)
        # y-websocket clients answer the server's step 1 with their own step 1 too.
        asyncio.get_running_loop().create_task(self.send_sync(p.SYNC_STEP1, self.doc.get_state()))

    async def send_sync(self, kind: int, data: bytes, *, reply: bool = False) -> None:
        await self.socket.send(p.ws_sync(kind, data))

    async def send_awareness(self, entries: list[tuple[int, int, str]]) -> None:
        await self.socket.send(p.ws_awareness(encode_update(entries)))

    async def query_awareness(self) -> None:
        await self.socket.send(p.var_uint(p.MSG_QUERY_AWARENESS))

    async def send_event(self, event: dict | str) -> None:
        await self.socket.send(event if isinstance(event, str) else json.dumps(event))

    async def send_raw(self, data) -> None:
        await self.socket.send(data)


class HocuspocusSocket:
    """One /ws/collab socket carrying several documents (one HocuspocusClient each)."""

    def __init__(self) -> None:
        self.socket = None
        self.clients: dict[str, HocuspocusClient] = {}
        self.other_frames: list[bytes] = []
        self._reader = None

    @classmethod
    async def connect(cls, base: str, *, query: str = "", **headers) -> HocuspocusSocket:
        hub = cls()
        hub.socket = await websockets.connect(
            f"{base}/ws/collab{query}", additional_headers=headers or None, max_size=None
        )
        hub._reader = asyncio.create_task(hub._read())
        return hub

    def attach(self, document_id, state: bytes | None = None) -> HocuspocusClient:
        """A client for one more document on this socket (holding `state`, if given); nothing is sent yet."""
        client = HocuspocusClient(str(document_id), state)
        client.hub, client.socket = self, self.socket
        self.clients[client.name] = client
        return client

    async def open(self, document_id, token: str | None, *, state: bytes | None = None) -> HocuspocusClient:
        """Attach a document as the provider does: its Auth frame, then its step 1."""
        client = self.attach(document_id, state)
        await client.authenticate(token)
        await client.send_sync(p.SYNC_STEP1, client.doc.get_state())
        return client

    async def _read(self) -> None:
        try:
            async for frame in self.socket:
                decoder = p.Decoder(frame)
                name = decoder.var_string()
                client = self.clients.get(name)
                if client is None:
                    self.other_frames.append(frame)
                else:
                    client.handle(decoder)
        except websockets.ConnectionClosed:
            pass

    async def close(self) -> None:
        await self.socket.close()
        self._reader.cancel()


class HocuspocusClient(_Client):
    """One document over the Hocuspocus dialect at /ws/collab (a socket may carry several clients)."""

    hub: HocuspocusSocket

    def __init__(self, name: str, state: bytes | None = None) -> None:
        super().__init__(state)
        self.name = name

    @classmethod
    async def connect(
        cls, base: str, document_id, token: str | None, *, query: str = "", state: bytes | None = None, **headers
    ) -> HocuspocusClient:
        hub = await HocuspocusSocket.connect(base, query=query, **headers)
        return await hub.open(document_id, token, state=state)

    async def close(self) -> None:
        await self.hub.close()

    async def authenticate(self, token: str | None) -> None:
        await self.socket.send(p.hp_frame(self.name, p.HP_AUTH, p.var_uint(p.AUTH_TOKEN) + p.var_string(token or "")))

    @property
    def scope(self) -> str | None:
        """The scope of the last Authenticated answer."""
        granted = [text for kind, text in self.auth if kind == p.AUTH_AUTHENTICATED]
        return granted[-1] if granted else None

    @property
    def denied(self) -> str | None:
        """The reason of the last PermissionDenied answer."""
        refused = [text for kind, text in self.auth if kind == p.AUTH_PERMISSION_DENIED]
        return refused[-1] if refused else None

    def handle(self, decoder: p.Decoder) -> None:
        kind = decoder.var_uint()
        if kind in (p.HP_SYNC, p.HP_SYNC_REPLY):
            self._handle_sync(decoder)
        elif kind == p.HP_AWARENESS:
            self.awareness.append(decoder.var_bytes())
        elif kind == p.HP_AUTH:
            self.auth.append((decoder.var_uint(), decoder.var_string()))
        elif kind == p.HP_STATELESS:
            self.events.append(json.loads(decoder.var_string()))
        elif kind == p.HP_SYNC_STATUS:
            self.statuses.append(decoder.var_uint())
        elif kind == p.HP_CLOSE:
            self.close_frames.append(decoder.var_string())
        elif kind == p.HP_PONG:
            self.pongs += 1

    async def send_sync(self, kind: int, data: bytes, *, reply: bool = False) -> None:
        await self.socket.send(p.hp_sync(self.name, kind, data, reply=reply))

    async def send_awareness(self, entries: list[tuple[int, int, str]]) -> None:
        await self.socket.send(p.hp_frame(self.name, p.HP_AWARENESS, p.var_bytes(encode_update(entries))))

    async def query_awareness(self) -> None:
        await self.socket.send(p.hp_frame(self.name, p.HP_QUERY_AWARENESS))

    async def send_event(self, event: dict | str) -> None:
        text = event if isinstance(event, str) else json.dumps(event)
        await self.socket.send(p.hp_frame(self.name, p.HP_STATELESS, p.var_string(text)))

    async def send_frame(self, kind: int, payload: bytes = b"") -> None:
        await self.socket.send(p.hp_frame(self.name, kind, payload))

    async def unload(self) -> None:
        """Tell the server this document is closed on the socket (CLOSE frame)."""
        await self.send_frame(p.HP_CLOSE, p.var_string("provider-closed"))
