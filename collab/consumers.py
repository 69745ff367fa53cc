"""WebSocket consumers: y-websocket at /ws/documents/{id}, Hocuspocus at /ws/collab (SPEC §5).

Glue only: frames are decoded here; durability, fan-out and awareness live in
`collab.rooms`, access and presence in `collab.sessions`.

Every message is handled in its own guard (SPEC §9): whatever one raises is logged and answered
with an error for its document (a database failure closes with 1011), and the socket, its other
documents, their rooms and presence carry on. Whichever way a consumer ends, its cleanup runs once:
the heartbeat stops, every session leaves its room and closes its presence row.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import json
import logging
import time

import pycrdt
from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import Error as DatabaseError
from redis.exceptions import RedisError

from accounts.serializers import user_summary
from collab import protocol as p
from collab import sessions as s
from collab.errors import CLOSE_REASONS, CloseCode, DocumentTooLargeError, SessionRefused, SocketError, error_frame
from collab.rooms import registry
from mdcreator.events import user_group
from mdcreator.timestamps import utc_timestamp

# Failures of what a socket stands on, not of a message: the socket closes with 1011 and the client retries.
INFRASTRUCTURE_ERRORS = (DatabaseError, RedisError, OSError)
logger = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 60
READ_ONLY_ERROR_INTERVAL = 5.0
MAX_BUFFERED = 100
# Documents a Hocuspocus socket may hold messages for before their authentication finishes (SPEC §5.3).
MAX_BUFFERED_DOCUMENTS = 20
# What daphne raises when a frame is sent after the peer went away (autobahn is daphne's WebSocket layer).
try:
    from autobahn.exception import Disconnected as PeerGone
except ImportError:  # another ASGI server
    PeerGone = ConnectionError
PEER_GONE = (PeerGone, ConnectionError)
# What no message guard catches: the task is being cancelled, or the process is ending.
UNGUARDED = (asyncio.CancelledError, StopConsumer, KeyboardInterrupt, SystemExit, GeneratorExit)


def connection_id(channel_name: str, address: str | None) -> str:
    """The presence key of a session: its socket's channel, and for Hocuspocus a digest of the document's address
    (any string the client chose, NUL and all: a `<name>\\0<session>` address is the provider's own form)."""
    if address is None:
        return f"{channel_name}|"
    digest = hashlib.sha256(address.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{channel_name}|{digest}"


class DocumentSession:
    """One document opened on one socket; the room's peer."""

    def __init__(self, socket: CollabConsumer, address: str | None, user, access: s.DocumentAccess):
        self.socket, self.address, self.user, self.access = socket, address, user, access
        self.user_id = user.pk
        self.room = None
        self.connection_id = connection_id(socket.channel_name, address)
        self.update_limit = s.RateLimiter(50)
        self.awareness_limit = s.RateLimiter(20)
        # Refusing a decodable update rebuilds the room's shadow document: at most one a second (after ten).
        self.refusal_limit = s.RateLimiter(1, window=10.0)
        self.last_read_only_error = 0.0
        self.accepted: collections.deque[asyncio.Future] = collections.deque()
        self.acknowledger: asyncio.Task | None = None

    @property
    def document_id(self):
        return self.access.document.pk

    async def send_update(self, update: bytes) -> None:
        await self.socket.send_sync(self, p.SYNC_UPDATE, update)

    async def send_awareness(self, update: bytes) -> None:
        await self.socket.send_awareness(self, update)

    async def send_event(self, event: dict) -> None:
        await self.socket.send_event(self, event)

    async def close_session(self, reason: str) -> None:
        await self.socket.close_session(self, reason)


class CollabConsumer(AsyncWebsocketConsumer):
    """What both dialects share: sessions, updates, awareness, events, presence and access checks."""

    greets_with_step1 = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sessions: dict[str | None, DocumentSession] = {}
        self.users: set = set()
        self._heartbeat: asyncio.Task | None = None
        self._cleanup: asyncio.Task | None = None
        self._closing = False

    async def __call__(self, scope, receive, send):
        """Run the consumer; its cleanup runs on every way out (a close, an error, a cancellation)."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.clean_up()

    async def dispatch(self, message):
        """Channels' dispatch without its close_old_connections hop to the sync thread before every message.

        The hop cost a thread round trip per frame; every database call of these consumers goes
        through database_sync_to_async or the rooms' run_db, which close stale connections themselves.
        Every message but the socket's opening and closing is guarded here (frames are guarded per
        document by `receive` too, to answer them): a failing or unknown one is logged, and the socket
        goes on.
        """
        kind = message.get("type")
        handler = getattr(self, get_handler_name(message), None)
        if kind in ("websocket.connect", "websocket.disconnect"):
            await handler(message)
            return
        try:
            if handler is None:
                raise ValueError(f"No handler for message type {kind}")
            await handler(message)
        except UNGUARDED:
            raise
        except BaseException:
            logger.exception("message %s failed", kind)

    async def guarded(self, session: DocumentSession | None, handling) -> None:
        """Await one message's handling; whatever it raises is logged and answered for that message alone.

        The answer is an `error` event for the session (a JSON error frame where the connection opted in
        to events, a Stateless error on Hocuspocus); a failure of the database or of the channel layer's
        Redis closes the socket with 1011 so that providers reconnect and resend what was not acknowledged
        (SPEC §5.4): a half-opened session would otherwise stay silent. The room and presence are untouched.
        """
        try:
            await handling
        except UNGUARDED:
            raise
        except BaseException as error:
            logger.exception("a message on %s failed", getattr(session, "document_id", "a live socket"))
            if self._closing:
                return
            try:
                if isinstance(error, INFRASTRUCTURE_ERRORS):
                    await self.close(code=CloseCode.SERVER_ERROR)
                elif session is not None:
                    await self.send_event(
                        session, error_frame(SocketError.UNKNOWN_MESSAGE, "The message could not be handled.")
                    )
            except Exception:
                logger.info("answering a failed message failed too", exc_info=True)

    # --- sending (dialect specific) --------------------------------------------------
    async def send_sync(self, session, kind: int, data: bytes, *, reply: bool = False) -> None:
        raise NotImplementedError

    async def send_awareness(self, session, update: bytes) -> None:
        raise NotImplementedError

    async def send_event(self, session, event: dict) -> None:
        raise NotImplementedError

    async def close_session(self, session, reason: str) -> None:
        raise NotImplementedError

    async def refuse_update(self, session, code: SocketError, detail: str) -> None:
        await self.send_event(session, error_frame(code, detail))

    async def acknowledge(self, session, durable: bool) -> None:
        """Hocuspocus SyncStatus; y-websocket has no acknowledgement."""

    async def send(self, text_data=None, bytes_data=None, close=False):
        """Send a frame; once the peer has gone (daphne refuses sends on a closed protocol), nothing more is sent
        and the frames still queued are not handled."""
        if self._closing and not close:
            return
        try:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)
        except PEER_GONE:
            self._closing = True

    async def close(self, code=None, reason=None):
        """Close the socket; frames the client sent meanwhile are no longer handled (no update after a 4429)."""
        self._closing = True
        # A plain int: autobahn refuses int subclasses such as CloseCode.
        with contextlib.suppress(*PEER_GONE):
            await super().close(code=int(code) if code is not None else None, reason=reason)

    # --- sessions ----------------------------------------------------------------------
    async def start_socket(self) -> bool:
        await self.accept()
        if not s.origin_allowed(self.scope):
            await self.close(code=CloseCode.FORBIDDEN)
            return False
        if not self._closing:
            self._heartbeat = asyncio.create_task(self._beat())
        return True

    async def open_session(self, address: str | None, user, document_id: str) -> DocumentSession:
        """Resolve access, record presence, join the room and greet the client (raises SessionRefused).

        The session is registered as soon as its presence row exists, so that it is closed again
        whatever fails afterwards (here, or on the way out of the consumer).
        """
        share_token = s.query_params(self.scope).get("share_token")
        access = await database_sync_to_async(s.document_access)(user, document_id, share_token)
        session = DocumentSession(self, address, user, access)
        first = await database_sync_to_async(s.presence_open)(
            user=user, document=access.document, connection_id=session.connection_id,
            device_type=s.device_type(self.scope),
        )
        self.sessions[address] = session
        try:
            if user.pk not in self.users:
                self.users.add(user.pk)
                await self.channel_layer.group_add(user_group(user.pk), self.channel_name)
            session.room = await registry.join(access.document.pk, session, collaborative=access.collaborative)
            await self._greet(session, announce=first)
        except BaseException:
            await asyncio.shield(self.end_session(session))
            raise
        return session

    async def _greet(self, session: DocumentSession, *, announce: bool) -> None:
        room = session.room
        if session.access.collaborative and self.greets_with_step1:
            await self.send_sync(session, p.SYNC_STEP1, room.state_vector())
        awareness = room.awareness.full_update()
        if awareness:
            await self.send_awareness(session, awareness)
        users = await database_sync_to_async(s.presence_users)(session.document_id)
        listed = [{key: user[key] for key in ("id", "display_name", "avatar_url", "device_type")} for user in users]
        await self.send_event(session, {"type": "presence_list", "users": listed})
        if announce:
            await room.broadcast_event(self._presence_event(session, "join"), exclude=session)

    def _presence_event(self, session, action: str) -> dict:
        return {
            "type": "presence",
            "action": action,
            "user": user_summary(session.user),
            "document_id": str(session.document_id),
            "timestamp": utc_timestamp(),
        }

    async def end_session(self, session: DocumentSession) -> None:
        """Leave the room and close the presence row; announce the leave after the user's last connection.

        The room is left even when the database or the channel layer fails meanwhile (the presence row
        then expires on its own: its heartbeat is gone with the session).
        """
        if self.sessions.get(session.address) is session:
            del self.sessions[session.address]
        room = session.room
        try:
            closed = await database_sync_to_async(s.presence_close)(connection_id=session.connection_id)
            if room is not None and closed and closed[2]:
                await room.broadcast_event(self._presence_event(session, "leave"), exclude=session)
        finally:
            if room is not None:
                await registry.leave(room, session)

    async def disconnect(self, code):
        await self.clean_up()

    def clean_up(self) -> asyncio.Future:
        """Stop the heartbeat, end every session and leave the user groups, once (shielded: a cancellation of
        the consumer does not cut it short)."""
        self._closing = True
        if self._cleanup is None:
            self._cleanup = asyncio.ensure_future(self._clean_up())
        return asyncio.shield(self._cleanup)

    async def _clean_up(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        for session in list(self.sessions.values()):
            try:
                await self.end_session(session)
            except Exception:
                logger.exception("closing the session of %s failed", session.document_id)
        for user_id in self.users:
            try:
                await self.channel_layer.group_discard(user_group(user_id), self.channel_name)
            except Exception:
                logger.warning("leaving the group of user %s failed", user_id, exc_info=True)

    # --- incoming -----------------------------------------------------------------------
    async def handle_sync(self, session: DocumentSession, decoder: p.Decoder, *, reply_step1: bool) -> None:
        """A y-protocols sync message: answer step 1, apply step 2 and updates."""
        kind = decoder.var_uint()
        data = decoder.var_bytes()
        if kind == p.SYNC_STEP1:
            if session.access.collaborative:
                try:
                    missing = session.room.diff_since(data)
                except ValueError:
                    await self.send_event(
                        session, error_frame(SocketError.INVALID_UPDATE, "The state vector could not be decoded.")
                    )
                    return
                await self.send_sync(session, p.SYNC_STEP2, missing)
                if reply_step1:
                    # As a Sync frame, like Hocuspocus itself: @hocuspocus/provider rejects SyncReply frames.
                    await self.send_sync(session, p.SYNC_STEP1, session.room.state_vector())
            return
        if kind in (p.SYNC_STEP2, p.SYNC_UPDATE):
            await self.handle_update(session, data)
            return
        await self.send_event(session, error_frame(SocketError.UNKNOWN_MESSAGE, f"Unknown sync message type {kind}."))

    async def handle_update(self, session: DocumentSession, update: bytes) -> None:
        """Refuse, or persist then apply and relay; the room and other connections are never harmed."""
        if not session.access.collaborative:
            await self._refuse(session, SocketError.UNSUPPORTED_DOCUMENT_TYPE, "Only markdown documents are edited live.")
            return
        try:
            pycrdt.get_state(update)  # decodes the whole update: ValueError when it is not one
        except ValueError:
            await self._refuse(session, SocketError.INVALID_UPDATE, "The update could not be decoded.")
            return
        if session.room.adds_nothing(update):
            # Every client answers the server's step 1 with a step 2, mostly empty: no edit (readers
            # included), nothing to store or relay; it is already durable.
            await self._settle(session)
            await self.acknowledge(session, True)
            return
        if session.access.read_only:
            # Anything that changes the document (a deletion included) is an edit: refused.
            if time.monotonic() - session.last_read_only_error >= READ_ONLY_ERROR_INTERVAL:
                session.last_read_only_error = time.monotonic()
                await self._refuse(session, SocketError.READ_ONLY, "You can read this document but not edit it.")
            else:
                await self.acknowledge(session, False)
            return
        if not session.update_limit.allow():
            await self.close(code=CloseCode.TOO_MANY)
            return
        refusal = session.room.refusal(update)
        if refusal is not None:
            if not session.refusal_limit.allow():
                await self.close(code=CloseCode.TOO_MANY)
                return
            await self._refuse(session, SocketError.INVALID_UPDATE, refusal)
            return
        # Durability is awaited off the receive loop: the rate limit then measures the client's pace,
        # not the database's, and a burst of updates shares one transaction. Acknowledgements keep their order.
        session.accepted.append(session.room.enqueue(update, peer=session, user_id=session.user_id))
        if session.acknowledger is None or session.acknowledger.done():
            session.acknowledger = asyncio.create_task(self._acknowledge_accepted(session))

    async def _acknowledge_accepted(self, session: DocumentSession) -> None:
        """SyncStatus for each queued update once it is durable, in order; a database failure closes with 1011."""
        failed = False
        while session.accepted:
            try:
                await session.accepted[0]
                outcome = None
            except DocumentTooLargeError:
                outcome = (SocketError.DOCUMENT_TOO_LARGE, "The document reached its size limit.")
            except Exception:
                if not failed:
                    logger.exception("persisting an update of %s failed", session.document_id)
                outcome = False
            session.accepted.popleft()
            if failed:
                continue
            with contextlib.suppress(Exception):  # the socket may be gone meanwhile
                if outcome is None:
                    await self.acknowledge(session, True)
                elif outcome is False:
                    failed = True
                    await self.close(code=CloseCode.SERVER_ERROR)
                else:
                    await self.acknowledge(session, False)
                    await self.refuse_update(session, *outcome)

    async def _settle(self, session: DocumentSession) -> None:
        """Wait until earlier accepted updates are acknowledged, so that acknowledgements keep their order."""
        if session.acknowledger is not None:
            await asyncio.shield(session.acknowledger)

    async def _refuse(self, session, code: SocketError, detail: str) -> None:
        await self._settle(session)
        await self.acknowledge(session, False)
        await self.refuse_update(session, code, detail)

    async def handle_awareness(self, session: DocumentSession, update: bytes) -> None:
        """Record and relay an awareness update; over the rate limit it is dropped."""
        if not session.awareness_limit.allow():
            return
        try:
            relayed = session.room.awareness.apply(update, session)
        except (p.DecodeError, ValueError):
            await self.send_event(session, error_frame(SocketError.INVALID_UPDATE, "The awareness update is malformed."))
            return
        if relayed:
            await session.room.broadcast_awareness(relayed)

    async def handle_event(self, session: DocumentSession, text: str) -> None:
        """JSON events from the client: cursor and ping; anything else is unknown_message."""
        event = s.parse_event(text)
        kind = event.get("type") if event else None
        if kind == "ping":
            await self.send_event(session, {"type": "pong"})
        elif kind == "cursor" and _valid_position(event.get("position")):
            if session.awareness_limit.allow():
                relayed = {
                    "type": "cursor", "user_id": str(session.user_id), "position": event["position"],
                    "selection": event.get("selection"), "is_typing": bool(event.get("is_typing", False)),
                }
                await session.room.broadcast_event(relayed, exclude=session)
        else:
            await self.send_event(session, error_frame(SocketError.UNKNOWN_MESSAGE, "Unknown or malformed message."))

    # --- access and heartbeat -------------------------------------------------------------
    async def access_changed(self, message: dict) -> None:
        """Channel-layer event: a membership or grant of one of our users changed."""
        await self.recheck_access()

    async def recheck_access(self) -> None:
        """Re-resolve every session: a downgrade makes it read-only, a loss closes it."""
        for session in list(self.sessions.values()):
            try:
                fresh = await database_sync_to_async(s.document_access)(
                    session.user, str(session.document_id), session.access.share_token
                )
            except SessionRefused:
                await self.close_session(session, "forbidden")
                continue
            if (fresh.read_only, fresh.role) != (session.access.read_only, session.access.role):
                session.access = fresh
                await self.send_event(session, {"type": "access", "role": fresh.role, "read_only": fresh.read_only})

    async def _beat(self) -> None:
        while not self._closing:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            for session in list(self.sessions.values()):
                with contextlib.suppress(Exception):
                    await database_sync_to_async(s.presence_heartbeat)(session.connection_id)
            with contextlib.suppress(Exception):
                await self.recheck_access()


def _valid_position(position) -> bool:
    return (
        isinstance(position, dict)
        and all(isinstance(position.get(key), int) and not isinstance(position.get(key), bool) for key in ("from", "to"))
        and 0 <= position["from"] <= position["to"]
    )


class YWebsocketConsumer(CollabConsumer):
    """The stock y-websocket protocol, one document per socket.

    JSON events (text frames) go only to connections that asked for them, with `?events=json`
    or by sending a JSON text frame first: the stock WebsocketProvider throws on text frames
    (SPEC §5.5, decision 38).
    """

    json_events = False

    async def connect(self):
        self.json_events = s.query_params(self.scope).get("events") == "json"
        if not await self.start_socket():
            return
        document_id = self.scope["url_route"]["kwargs"]["document_id"]
        try:
            user = await database_sync_to_async(s.authenticate)(s.query_params(self.scope).get("token"))
            await self.open_session(None, user, document_id)
        except SessionRefused as refused:
            await self.close(code=refused.code)

    async def receive(self, text_data=None, bytes_data=None):
        session = self.sessions.get(None)
        if session is None or self._closing:
            return
        size = len(bytes_data) if text_data is None else len(text_data.encode("utf-8", "surrogatepass"))
        if size > s.MAX_MESSAGE_BYTES:
            await self.close(code=CloseCode.MESSAGE_TOO_BIG)
            return
        await self.guarded(session, self._receive(session, text_data, bytes_data))

    async def _receive(self, session, text_data: str | None, bytes_data: bytes | None) -> None:
        if text_data is not None:
            self.json_events = True  # a client that speaks JSON reads it too
            await self.handle_event(session, text_data)
            return
        try:
            await self._dispatch(session, p.Decoder(bytes_data))
        except p.DecodeError:
            await self.send_event(session, error_frame(SocketError.UNKNOWN_MESSAGE, "The frame could not be decoded."))

    async def _dispatch(self, session, decoder: p.Decoder) -> None:
        kind = decoder.var_uint()
        if kind == p.MSG_SYNC:
            await self.handle_sync(session, decoder, reply_step1=False)
        elif kind == p.MSG_AWARENESS:
            await self.handle_awareness(session, decoder.var_bytes())
        elif kind == p.MSG_QUERY_AWARENESS:
            awareness = session.room.awareness.full_update()
            if awareness:
                await self.send_awareness(session, awareness)
        else:
            await self.send_event(session, error_frame(SocketError.UNKNOWN_MESSAGE, f"Unknown message type {kind}."))

    async def send_sync(self, session, kind, data, *, reply=False):
        await self.send(bytes_data=p.ws_sync(kind, data))

    async def send_awareness(self, session, update):
        await self.send(bytes_data=p.ws_awareness(update))

    async def send_event(self, session, event):
        if self.json_events:
            await self.send(text_data=json.dumps(event, default=str))
        elif event.get("type") == "error":  # a stock client cannot read it: dropped, and logged
            logger.info("error %s for %s not sent (no JSON events): %s", event["code"], session.document_id,
                        event["detail"])

    async def close_session(self, session, reason):
        code = CloseCode.NOT_FOUND if reason == "document-deleted" else CloseCode.FORBIDDEN
        if reason == "document-deleted":
            await self.send_event(session, {"type": "document.deleted", "document_id": str(session.document_id)})
        await self.close(code=code)


class HocuspocusConsumer(CollabConsumer):
    """The Hocuspocus protocol: many documents per socket, each authenticated on its own."""

    # The provider opens with its step 1 and counts one SyncStatus per step 1 it gets back; an
    # unasked step 1 would earn an extra acknowledgement and mark an unsaved edit as saved.
    greets_with_step1 = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.buffered: dict[str, list[bytes]] = {}

    async def connect(self):
        await self.start_socket()

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is None or self._closing:
            return
        if len(bytes_data) > s.MAX_MESSAGE_BYTES:
            await self.close(code=CloseCode.MESSAGE_TOO_BIG)
            return
        try:
            decoder = p.Decoder(bytes_data)
            address, kind = decoder.var_string(), decoder.var_uint()
        except p.DecodeError:
            logger.info("undecodable Hocuspocus frame ignored")
            return
        await self.guarded(self.sessions.get(address), self._dispatch(address, kind, decoder, bytes_data))

    async def _dispatch(self, address: str, kind: int, decoder: p.Decoder, raw: bytes) -> None:
        try:
            if kind == p.HP_AUTH:
                if decoder.var_uint() == p.AUTH_TOKEN:
                    await self._authenticate(address, decoder.var_string())
                return
            session = self.sessions.get(address)
            if session is None:
                await self._buffer(address, raw)
                return
            await self._handle(session, kind, decoder)
        except p.DecodeError:
            logger.info("undecodable Hocuspocus frame ignored")

    async def _buffer(self, address: str, raw: bytes) -> None:
        """Hold a frame until its document is authenticated: ≤ 100 frames and 8 MiB per document, and (the
        socket's memory) ≤ 8 MiB and MAX_BUFFERED_DOCUMENTS documents in all; beyond, CLOSE for that document."""
        if address not in self.buffered and len(self.buffered) >= MAX_BUFFERED_DOCUMENTS:
            await self.send(bytes_data=p.hp_frame(address, p.HP_CLOSE, p.var_string("too-many-messages")))
            return
        queue = self.buffered.setdefault(address, [])
        queue.append(raw)
        held = sum(len(item) for frames in self.buffered.values() for item in frames)
        if len(queue) > MAX_BUFFERED or held > s.MAX_MESSAGE_BYTES:
            self.buffered.pop(address, None)
            await self.send(bytes_data=p.hp_frame(address, p.HP_CLOSE, p.var_string("too-many-messages")))

    async def _handle(self, session, kind: int, decoder: p.Decoder) -> None:
        if kind in (p.HP_SYNC, p.HP_SYNC_REPLY):
            await self.handle_sync(session, decoder, reply_step1=kind == p.HP_SYNC)
        elif kind == p.HP_AWARENESS:
            await self.handle_awareness(session, decoder.var_bytes())
        elif kind == p.HP_QUERY_AWARENESS:
            awareness = session.room.awareness.full_update()
            if awareness:
                await self.send_awareness(session, awareness)
        elif kind == p.HP_STATELESS:
            await self.handle_event(session, decoder.var_string())
        elif kind == p.HP_CLOSE:
            await self.end_session(session)
        elif kind == p.HP_PING:
            await self.send(bytes_data=p.hp_frame(session.address, p.HP_PONG))

    async def _authenticate(self, address: str, token: str) -> None:
        params = s.query_params(self.scope)
        name = p.document_name(address)
        try:
            if address in self.sessions:
                await self.end_session(self.sessions[address])
            user = await database_sync_to_async(s.authenticate)(token or params.get("token"))
            session = await self.open_session(address, user, name)
        except SessionRefused as refused:
            self.buffered.pop(address, None)
            reason = CLOSE_REASONS.get(refused.code, refused.reason)
            await self.send(bytes_data=p.hp_auth(address, p.AUTH_PERMISSION_DENIED, reason))
            return
        scope = "readonly" if session.access.read_only else "read-write"
        await self.send(bytes_data=p.hp_auth(address, p.AUTH_AUTHENTICATED, scope))
        for raw in self.buffered.pop(address, []):
            await self.guarded(session, self._replay(session, raw))

    async def _replay(self, session, raw: bytes) -> None:
        """Handle a frame buffered before its document was authenticated."""
        decoder = p.Decoder(raw)
        decoder.var_string()
        with contextlib.suppress(p.DecodeError):
            await self._handle(session, decoder.var_uint(), decoder)

    async def send_sync(self, session, kind, data, *, reply=False):
        await self.send(bytes_data=p.hp_sync(session.address, kind, data, reply=reply))

    async def send_awareness(self, session, update):
        await self.send(bytes_data=p.hp_frame(session.address, p.HP_AWARENESS, p.var_bytes(update)))

    async def send_event(self, session, event):
        payload = p.var_string(json.dumps(event, default=str))
        await self.send(bytes_data=p.hp_frame(session.address, p.HP_STATELESS, payload))

    async def acknowledge(self, session, durable: bool) -> None:
        await self.send(bytes_data=p.hp_frame(session.address, p.HP_SYNC_STATUS, p.var_uint(1 if durable else 0)))

    async def refuse_update(self, session, code, detail):
        await self.send_event(session, error_frame(code, detail))

    async def close_session(self, session, reason):
        if reason == "document-deleted":
            await self.send_event(session, {"type": "document.deleted", "document_id": str(session.document_id)})
        await self.send(bytes_data=p.hp_frame(session.address, p.HP_CLOSE, p.var_string(reason)))
        await self.end_session(session)
