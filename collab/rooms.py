"""Rooms: one pycrdt document per open document per process, shared by all its connections.

An accepted update is committed to `CollabUpdate` before it is applied to
the room's document or relayed (SPEC §5.4). Rooms of one document in other
processes receive it through the channel layer group `doc.<id>`; a room
that sees a gap in the sequence reloads the missing rows from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import pycrdt
from channels.layers import get_channel_layer
from django.db import close_old_connections

from collab import store
from collab.awareness import RoomAwareness
from collab.commits import committer
from collab.protocol import content_refusal, update_adds_nothing
from collab.services import SERVER_ORIGIN, collab_materialize
from mdcreator.events import document_group

logger = logging.getLogger(__name__)

_EXECUTOR = ThreadPoolExecutor(max_workers=8, thread_name_prefix="collab-db")
# Materialization and compaction take tens to hundreds of milliseconds each: on a thread of their own,
# a backlog of them never keeps an update from being committed. One thread: they are mostly Python,
# and a second one only competed with the event loop for the GIL (the fan-out tail doubled).
_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collab-materialize")
REPAIR_DELAY = 0.2
RECHECK_INTERVAL = 30.0
MATERIALIZE_QUIET = 2.0
MATERIALIZE_MAX_WAIT = 10.0
REMOTE_PEER = object()  # owner of the awareness states that arrive from other processes
PUBLISH_DRAIN_SECONDS = 5.0
# A room tells the rooms of the same document in other processes that it is there this often; they
# publish to the channel layer only while they have heard from another room within OTHERS_TTL.
HERE_INTERVAL = 15.0
OTHERS_TTL = 40.0
# After joining the group, a new room repairs once more: updates committed by a room that had not
# heard of it yet (and so did not publish them) are in the database.
JOIN_REPAIR_DELAY = 1.0
JOIN_GRACE = 5.0


def _in_db_thread(fn, *args, **kwargs):
    close_old_connections()
    try:
        return fn(*args, **kwargs)
    finally:
        close_old_connections()


async def run_db(fn, *args, **kwargs):
    """Run synchronous ORM code on the collab database threads."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_EXECUTOR, functools.partial(_in_db_thread, fn, *args, **kwargs))


async def run_db_background(fn, *args, **kwargs):
    """Like run_db, on the threads for slow upkeep (materialization, compaction)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_BACKGROUND, functools.partial(_in_db_thread, fn, *args, **kwargs))


class Peer(Protocol):
    """One connection's session on a document, as the room sees it."""

    user_id: object

    async def send_update(self, update: bytes) -> None: ...

    async def send_awareness(self, update: bytes) -> None: ...

    async def send_event(self, event: dict) -> None: ...

    async def close_session(self, reason: str) -> None: ...


class Room:
    """The live document of one process, its peers, awareness and durable writer."""

    def __init__(self, document_id, *, collaborative: bool = True) -> None:
        self.document_id = document_id
        self.collaborative = collaborative
        self.instance = uuid.uuid4().hex
        self.doc = pycrdt.Doc()
        # The room's document plus every update checked since: where an incoming update is tried before it is
        # stored, so that a refused one never touches `doc` (rebuilt from `doc` after a refusal).
        self.shadow = pycrdt.Doc()
        self.peers: set = set()
        self.awareness = RoomAwareness()
        self.applied_seq = 0
        self._seen: set[int] = set()
        self._pending: list[tuple[bytes, object, object, asyncio.Future]] = []
        self._writer: asyncio.Task | None = None
        self._tasks: list[asyncio.Task] = []
        self._channel: str | None = None
        self._repair_scheduled = False
        self._dirty_since: float | None = None
        self._materializer: asyncio.TimerHandle | None = None
        self._materializing = False
        self._materialize_again = False
        self._outbox: asyncio.Queue = asyncio.Queue()
        self._others_until = 0.0
        self.closed = False

    # --- lifecycle -----------------------------------------------------------------
    async def start(self) -> None:
        """Load the durable state (hydrating on first use) and subscribe to the group."""
        if self.collaborative:
            snapshot = await run_db(store.load_snapshot, self.document_id)
            self.doc = snapshot.as_doc()
            self.applied_seq = snapshot.last_seq
            self._reset_shadow()
        layer = get_channel_layer()
        # Until the rooms of other processes have answered the query below, assume they are there.
        self._others_until = time.monotonic() + JOIN_GRACE
        self._channel = await layer.new_channel()
        await layer.group_add(document_group(self.document_id), self._channel)
        # Rooms of other processes tell this one the awareness states of their clients.
        await layer.group_send(
            document_group(self.document_id),
            {"type": "doc.awareness.query", "reply_to": self._channel, "origin": self.instance},
        )
        self._tasks.append(asyncio.create_task(self._read_group()))
        self._tasks.append(asyncio.create_task(self._recheck_periodically()))
        self._tasks.append(asyncio.create_task(self._publish()))
        self._tasks.append(asyncio.create_task(self._announce()))
        if self.collaborative:
            asyncio.get_running_loop().call_later(JOIN_REPAIR_DELAY, lambda: asyncio.ensure_future(self._repair()))

    async def stop(self) -> None:
        """Unsubscribe, materialize and compact once the last local peer has gone."""
        self.closed = True
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer
        with contextlib.suppress(Exception):  # the last accepted updates still reach the other processes
            await asyncio.wait_for(self._outbox.join(), PUBLISH_DRAIN_SECONDS)
        for task in self._tasks:
            task.cancel()
        if self._materializer is not None:
            self._materializer.cancel()
        with contextlib.suppress(Exception):
            await get_channel_layer().group_discard(document_group(self.document_id), self._channel)
        if not self.collaborative:
            return
        for step in (collab_materialize, store.compact):
            try:
                await run_db_background(step, self.document_id)
            except Exception:  # the next opener or the command catches up
                logger.exception("closing room %s: %s failed", self.document_id, step.__name__)

    # --- updates -------------------------------------------------------------------
    def state_vector(self) -> bytes:
        return self.doc.get_state()

    def adds_nothing(self, update: bytes) -> bool:
        """Whether a (decodable) update holds no item and no deletion this room lacks."""
        return update_adds_nothing(self.doc, update)

    def diff_since(self, state_vector: bytes | None) -> bytes:
        """The update a client with `state_vector` is missing (ValueError when it is no state vector)."""
        return self.doc.get_update(state_vector) if state_vector else self.doc.get_update()

    def refusal(self, update: bytes) -> str | None:
        """Why a decodable update may not be stored (it does not apply, or puts another type than XML in the root
        `content`, SPEC §5.7), or None. Tried on the shadow document, never on the room's."""
        reason = content_refusal(self.shadow, update)
        if reason is not None:
            self._reset_shadow()  # it may hold part of the refused update
        return reason

    def _reset_shadow(self) -> None:
        self.shadow = pycrdt.Doc()
        self.shadow.apply_update(self.doc.get_update())

    def _apply(self, update: bytes) -> bool:
        """Apply a stored update to the room's document (and its shadow); False, logged, when it does not apply."""
        try:
            self.doc.apply_update(update)
        except Exception:
            logger.exception("room %s: a stored update does not apply", self.document_id)
            self._reset_shadow()
            return False
        try:
            self.shadow.apply_update(update)
        except Exception:
            self._reset_shadow()
        return True

    def enqueue(self, update: bytes, *, peer, user_id) -> asyncio.Future:
        """Queue an update to be persisted, then applied and relayed; the future resolves once it is durable.

        The future raises store.DocumentTooLargeError, or the database error (the caller closes with 1011).
        Updates queued while a write is in flight share the next transaction.
        """
        future = asyncio.get_running_loop().create_future()
        self._pending.append((update, user_id, peer, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_batches())
        return future

    async def submit(self, update: bytes, *, peer, user_id) -> None:
        """Persist an update, then apply and relay it; returns once it is durable (see `enqueue`)."""
        await self.enqueue(update, peer=peer, user_id=user_id)

    async def _write_batches(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                # Committed with the batches of the process's other rooms waiting now (collab.commits).
                seqs = await committer(run_db).append(self.document_id, [(u, user) for u, user, _, _ in batch])
            except Exception as exc:
                for *_, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            await self._apply_accepted(batch, seqs)

    async def _apply_accepted(self, batch, seqs: list[int]) -> None:
        updates = [update for update, *_ in batch]
        merged = pycrdt.merge_updates(*updates) if len(updates) > 1 else updates[0]
        applied = self._apply(merged)
        self._track(seqs)
        try:
            if applied:
                origins = {peer for _, _, peer, _ in batch}
                sole_origin = next(iter(origins)) if len(origins) == 1 else None
                await self._relay(merged, exclude=sole_origin)
        finally:  # they are durable: their connections are acknowledged whatever happens here
            for *_, future in batch:
                if not future.done():
                    future.set_result(True)
        self._outbox.put_nowait({"type": "doc.update", "seqs": seqs, "update": merged, "origin": self.instance})
        self._schedule_materialize()

    @property
    def others_listening(self) -> bool:
        """Whether a room of this document in another process was heard from lately."""
        return time.monotonic() < self._others_until

    async def _publish(self) -> None:
        """Publish accepted updates to the other processes in order.

        A task of its own, so that the next batch's commit does not wait for a Redis round trip.
        Nothing is sent while no other process has a room of the document.
        """
        layer = get_channel_layer()
        while True:
            messages = [await self._outbox.get()]
            while not self._outbox.empty():  # a backlog (Redis slower than the writes) goes out as one message
                messages.append(self._outbox.get_nowait())
            try:
                if self.others_listening:
                    await layer.group_send(document_group(self.document_id), _merged(messages))
            except Exception:  # other processes repair the gap from the database
                logger.exception("room %s: publishing an update failed", self.document_id)
            finally:
                for _ in messages:
                    self._outbox.task_done()

    async def _relay(self, update: bytes, *, exclude=None) -> None:
        for peer in list(self.peers):
            if peer is not exclude:
                with contextlib.suppress(Exception):
                    await peer.send_update(update)

    def _track(self, seqs: list[int]) -> None:
        """Advance `applied_seq` over contiguous seqs; a lasting gap triggers a repair."""
        self._seen.update(seq for seq in seqs if seq > self.applied_seq)
        while self.applied_seq + 1 in self._seen:
            self.applied_seq += 1
            self._seen.discard(self.applied_seq)
        if self._seen and not self._repair_scheduled:
            self._repair_scheduled = True
            asyncio.get_running_loop().call_later(REPAIR_DELAY, lambda: asyncio.ensure_future(self._repair()))

    async def _repair(self) -> None:
        """Reload rows after `applied_seq` (or the compacted state) and apply them: merging is idempotent."""
        self._repair_scheduled = False
        if self.closed:
            return
        if not self._seen and await run_db(store.last_seq, self.document_id) <= self.applied_seq:
            return
        snapshot = await run_db(store.load_snapshot, self.document_id, after_seq=self.applied_seq)
        before = self.doc.get_state()
        for update in ([snapshot.state] if snapshot.state else []) + [u for _, u in snapshot.updates]:
            self._apply(update)
        self._seen = {seq for seq in self._seen if seq > snapshot.last_seq}
        self.applied_seq = max(self.applied_seq, snapshot.last_seq)
        missing = self.doc.get_update(before)
        if len(missing) > 2:  # an empty update encodes as two zero bytes
            await self._relay(missing)

    async def _announce(self) -> None:
        """Tell the rooms of other processes, now and then, that this one is there."""
        while not self.closed:
            await asyncio.sleep(HERE_INTERVAL)
            with contextlib.suppress(Exception):
                await get_channel_layer().group_send(
                    document_group(self.document_id), {"type": "doc.here", "origin": self.instance}
                )

    async def _recheck_periodically(self) -> None:
        while not self.closed:
            await asyncio.sleep(RECHECK_INTERVAL)
            with contextlib.suppress(Exception):
                await self._repair()

    # --- remote messages -----------------------------------------------------------
    async def _read_group(self) -> None:
        layer = get_channel_layer()
        while not self.closed:
            try:
                message = await layer.receive(self._channel)
                await self._on_group_message(message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("room %s: group message failed", self.document_id)

    async def _on_group_message(self, message: dict) -> None:
        origin = message.get("origin")
        if origin == self.instance:
            return
        if origin != SERVER_ORIGIN:  # a room of another process: from now on, publish for it
            self._others_until = time.monotonic() + OTHERS_TTL
        kind = message.get("type")
        if kind == "doc.update":
            applied = self._apply(message["update"])
            self._track(message["seqs"])
            if applied:
                await self._relay(message["update"])
        elif kind == "doc.awareness":
            # Clients of other processes are part of the room's awareness: newcomers and QueryAwareness
            # get their states too; their own process broadcasts the removal when they leave.
            self.awareness.apply(message["update"], REMOTE_PEER)
            await self.broadcast_awareness(message["update"], publish=False)
        elif kind == "doc.awareness.query":
            # A new room: it gets this one's awareness states and, either way, learns that this room is here.
            states = self.awareness.full_update(skip_owner=REMOTE_PEER)
            reply = {"type": "doc.awareness", "update": states} if states else {"type": "doc.here"}
            await get_channel_layer().send(message["reply_to"], {**reply, "origin": self.instance})
        elif kind == "doc.recheck":
            # Someone's access to this document changed (a share link revoked): every local session re-resolves.
            for socket in {peer.socket for peer in self.peers if hasattr(peer, "socket")}:
                with contextlib.suppress(Exception):
                    await socket.recheck_access()
        elif kind == "doc.event":
            await self.broadcast_event(message["event"], publish=False)
            if message.get("close"):
                for peer in list(self.peers):
                    with contextlib.suppress(Exception):
                        await peer.close_session(message["close"])

    # --- awareness and events --------------------------------------------------------
    async def broadcast_awareness(self, update: bytes, *, publish: bool = True) -> None:
        """Relay an awareness update to every local peer (sender included) and the other processes."""
        for peer in list(self.peers):
            with contextlib.suppress(Exception):
                await peer.send_awareness(update)
        if publish and self.others_listening:
            await get_channel_layer().group_send(
                document_group(self.document_id), {"type": "doc.awareness", "update": update, "origin": self.instance}
            )

    async def broadcast_event(self, event: dict, *, publish: bool = True, exclude=None) -> None:
        """Send a JSON event to every local peer and, when `publish`, to the other processes."""
        for peer in list(self.peers):
            if peer is not exclude:
                with contextlib.suppress(Exception):
                    await peer.send_event(event)
        if publish and self.others_listening:
            await get_channel_layer().group_send(
                document_group(self.document_id), {"type": "doc.event", "event": event, "origin": self.instance}
            )

    # --- materialization ----------------------------------------------------------------
    def _schedule_materialize(self) -> None:
        """2 s after the last update, and at most 10 s after the first unmaterialized one."""
        now = time.monotonic()
        if self._dirty_since is None:
            self._dirty_since = now
        delay = min(MATERIALIZE_QUIET, max(0.0, self._dirty_since + MATERIALIZE_MAX_WAIT - now))
        if self._materializer is not None:
            self._materializer.cancel()
        self._materializer = asyncio.get_running_loop().call_later(
            delay, lambda: asyncio.ensure_future(self.materialize_now())
        )

    async def materialize_now(self) -> None:
        """Write the live content back to the document (one process wins; others skip)."""
        self._dirty_since, self._materializer = None, None
        if self._materializing:
            # One at a time per room: when the database lags, timers fire faster than jobs finish,
            # and queued jobs would only wait for each other's locks. The running one is followed up.
            self._materialize_again = True
            return
        self._materializing = True
        try:
            await run_db_background(collab_materialize, self.document_id)
            if await run_db_background(store.needs_compaction, self.document_id):
                await run_db_background(store.compact, self.document_id)
        except Exception:
            logger.exception("materializing %s failed", self.document_id)
        finally:
            self._materializing = False
            if self._materialize_again and not self.closed:
                self._materialize_again = False
                self._schedule_materialize()


def _merged(messages: list[dict]) -> dict:
    """One doc.update message carrying the seqs and the merged update of several."""
    if len(messages) == 1:
        return messages[0]
    return {
        **messages[0],
        "seqs": [seq for message in messages for seq in message["seqs"]],
        "update": pycrdt.merge_updates(*(message["update"] for message in messages)),
    }


class RoomRegistry:
    """The rooms of this process, opened on first join and closed after the last leave."""

    def __init__(self) -> None:
        self.rooms: dict[str, Room] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def join(self, document_id, peer, *, collaborative: bool = True) -> Room:
        """The process's room of a document, opened (and loaded) by its first peer."""
        key = str(document_id)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            room = self.rooms.get(key)
            if room is None:
                room = Room(document_id, collaborative=collaborative)
                await room.start()
                self.rooms[key] = room
            elif room.collaborative:
                # A newcomer gets everything committed, also updates whose message never arrived
                # (their process died between commit and publish): one query when nothing is missing.
                await room._repair()
            room.peers.add(peer)
            return room

    async def leave(self, room: Room, peer) -> None:
        """Remove a peer and its awareness; the last one closes the room."""
        key = str(room.document_id)
        async with self._locks.setdefault(key, asyncio.Lock()):
            room.peers.discard(peer)
            removal = room.awareness.remove_owner(peer)
            if removal:
                await room.broadcast_awareness(removal)
            if not room.peers and self.rooms.get(key) is room:
                del self.rooms[key]
                await room.stop()


registry = RoomRegistry()
