"""Real Yjs clients for the tests: pycrdt documents speaking y-websocket or Hocuspocus over a socket."""

from __future__ import annotations

import asyncio
import json
import time

import pycrdt
import websockets

from collab import protocol as p


class _Client:
    """A pycrdt document kept in sync with the server; local edits are sent as updates."""

    def __init__(self) -> None:
        self.doc = pycrdt.Doc()
        self.events: list[dict] = []
        self.awareness: list[bytes] = []
        self.statuses: list[int] = []
        self.close_frames: list[str] = []
        self.auth: list[tuple[int, str]] = []
        self.synced = asyncio.Event()
        self.socket = None
        self._reader = None
        self._applying_remote = False
        self._subscription = self.doc.observe(self._on_transaction)

    @property
    def fragment(self) -> pycrdt.XmlFragment:
        return self.doc.get("content", type=pycrdt.XmlFragment)

    def _on_transaction(self, event) -> None:
        if not self._applying_remote:  # local edits only are sent
            asyncio.get_running_loop().create_task(self.send_update(event.update))

    def apply_remote(self, update: bytes) -> None:
        self._applying_remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying_remote = False

    async def wait_for(self, predicate, timeout: float = 10.0) -> None:
        """Poll `predicate` until it is true; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self._reader is not None:
            self._reader.cancel()

    async def _read(self) -> None:
        try:
            async for frame in self.socket:
                self.handle(frame)
        except websockets.ConnectionClosed:
            pass

    def handle(self, frame) -> None:
        raise NotImplementedError

    async def send_update(self, update: bytes) -> None:
        raise NotImplementedError


class YWebsocketClient(_Client):
    """The y-websocket dialect at /ws/documents/{id}."""

    @classmethod
    async def connect(cls, base: str, document_id, token: str | None, **headers) -> YWebsocketClient:
        client = cls()
        query = f"?token={token}" if token else ""
        client.socket = await websockets.connect(
            f"{base}/ws/documents/{document_id}{query}", additional_headers=headers or None, max_size=None
        )
        client._reader = asyncio.create_task(client._read())
        return client

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

    def _handle_sync(self, decoder: p.Decoder) -> None:
        kind, data = decoder.var_uint(), decoder.var_bytes()
        if kind == p.SYNC_STEP1:
            reply = p.ws_sync(p.SYNC_STEP2, self.doc.get_update(data))
            asyncio.get_running_loop().create_task(self.socket.send(reply))
            asyncio.get_running_loop().create_task(self.socket.send(p.ws_sync(p.SYNC_STEP1, self.doc.get_state())))
        else:
            self.apply_remote(data)
            if kind == p.SYNC_STEP2:
                self.synced.set()

    async def send_update(self, update: bytes) -> None:
        await self.socket.send(p.ws_sync(p.SYNC_UPDATE, update))

    async def send_raw(self, data) -> None:
        await self.socket.send(data)


class HocuspocusClient(_Client):
    """One document over the Hocuspocus dialect at /ws/collab (a socket may carry several clients)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    @classmethod
    async def connect(cls, base: str, document_id, token: str | None, *, query: str = "") -> HocuspocusClient:
        client = cls(str(document_id))
        client.socket = await websockets.connect(f"{base}/ws/collab{query}", max_size=None)
        client._reader = asyncio.create_task(client._read())
        await client.socket.send(p.hp_frame(client.name, p.HP_AUTH, p.var_uint(p.AUTH_TOKEN) + p.var_string(token or "")))
        await client.socket.send(p.hp_sync(client.name, p.SYNC_STEP1, client.doc.get_state()))
        return client

    def handle(self, frame) -> None:
        decoder = p.Decoder(frame)
        name, kind = decoder.var_string(), decoder.var_uint()
        if name != self.name:
            return
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

    def _handle_sync(self, decoder: p.Decoder) -> None:
        kind, data = decoder.var_uint(), decoder.var_bytes()
        if kind == p.SYNC_STEP1:
            reply = p.hp_sync(self.name, p.SYNC_STEP2, self.doc.get_update(data), reply=True)
            asyncio.get_running_loop().create_task(self.socket.send(reply))
        else:
            self.apply_remote(data)
            if kind == p.SYNC_STEP2:
                self.synced.set()

    async def send_update(self, update: bytes) -> None:
        await self.socket.send(p.hp_sync(self.name, p.SYNC_UPDATE, update))

    async def send_event(self, event: dict) -> None:
        await self.socket.send(p.hp_frame(self.name, p.HP_STATELESS, p.var_string(json.dumps(event))))
