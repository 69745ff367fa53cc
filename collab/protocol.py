"""Wire formats: lib0 encoding, y-websocket frames and Hocuspocus frames (SPEC §5.2, §5.3)."""

from __future__ import annotations

import pycrdt

# y-websocket message types (first varuint of a frame)
MSG_SYNC, MSG_AWARENESS, MSG_AUTH, MSG_QUERY_AWARENESS = 0, 1, 2, 3
# y-protocols sync message types
SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE = 0, 1, 2
# Hocuspocus message types
HP_SYNC, HP_AWARENESS, HP_AUTH, HP_QUERY_AWARENESS, HP_SYNC_REPLY = 0, 1, 2, 3, 4
HP_STATELESS, HP_BROADCAST_STATELESS, HP_CLOSE, HP_SYNC_STATUS, HP_PING, HP_PONG = 5, 6, 7, 8, 9, 10
# Hocuspocus auth message types
AUTH_TOKEN, AUTH_PERMISSION_DENIED, AUTH_AUTHENTICATED = 0, 1, 2


class DecodeError(ValueError):
    """A frame that does not follow the encoding."""


class Decoder:
    """Reads lib0-encoded values from a byte string."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def var_uint(self) -> int:
        value, shift = 0, 0
        while True:
            if self.pos >= len(self.data):
                raise DecodeError("truncated varuint")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 63:
                raise DecodeError("varuint too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self.pos + length
        if end > len(self.data):
            raise DecodeError("truncated byte array")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("string is not UTF-8") from None

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    @property
    def done(self) -> bool:
        return self.pos >= len(self.data)


def var_uint(value: int) -> bytes:
    """lib0 unsigned varint."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def var_bytes(data: bytes) -> bytes:
    """lib0 length-prefixed byte array."""
    return var_uint(len(data)) + data


def var_string(text: str) -> bytes:
    """lib0 length-prefixed UTF-8 string."""
    return var_bytes(text.encode("utf-8"))


def sync_payload(kind: int, data: bytes) -> bytes:
    """A y-protocols sync message body: step1 (state vector), step2 or update."""
    return var_uint(kind) + var_bytes(data)


def ws_sync(kind: int, data: bytes) -> bytes:
    """y-websocket sync frame."""
    return var_uint(MSG_SYNC) + sync_payload(kind, data)


def ws_awareness(update: bytes) -> bytes:
    """y-websocket awareness frame."""
    return var_uint(MSG_AWARENESS) + var_bytes(update)


def ws_permission_denied(reason: str) -> bytes:
    """y-websocket auth frame: permission denied."""
    return var_uint(MSG_AUTH) + var_uint(0) + var_string(reason)


def hp_frame(address: str, kind: int, payload: bytes = b"") -> bytes:
    """A Hocuspocus frame for one document address."""
    return var_string(address) + var_uint(kind) + payload


def hp_sync(address: str, kind: int, data: bytes, *, reply: bool = False) -> bytes:
    """Hocuspocus Sync (or SyncReply) frame."""
    return hp_frame(address, HP_SYNC_REPLY if reply else HP_SYNC, sync_payload(kind, data))


def hp_auth(address: str, kind: int, text: str) -> bytes:
    """Hocuspocus Auth frame: Authenticated(scope) or PermissionDenied(reason)."""
    return hp_frame(address, HP_AUTH, var_uint(kind) + var_string(text))


def document_name(address: str) -> str:
    """The document name of a Hocuspocus address (which may carry `\\0<session id>`)."""
    return address.split("\0", 1)[0]


def decode_state_vector(state_vector: bytes) -> dict[int, int]:
    """client id → clock of a Yjs v1 state vector."""
    decoder = Decoder(state_vector)
    return {decoder.var_uint(): decoder.var_uint() for _ in range(decoder.var_uint())}


def read_delete_set(decoder: Decoder) -> dict[int, list[tuple[int, int]]]:
    """client id → merged, sorted [start, end) clock ranges of a Yjs v1 delete set."""
    ranges: dict[int, list[tuple[int, int]]] = {}
    for _ in range(decoder.var_uint()):
        client = decoder.var_uint()
        spans = list(ranges.get(client, []))
        for _ in range(decoder.var_uint()):
            clock = decoder.var_uint()
            spans.append((clock, clock + decoder.var_uint()))
        merged: list[tuple[int, int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:  # adjacent or overlapping: one range
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        ranges[client] = merged
    return ranges


def adds_nothing(missing: bytes, known_deletions: bytes) -> bool:
    """Whether an update brings nothing new to a document.

    `missing` is the update diffed against the document's state vector (items the document
    lacks, then the update's delete set); `known_deletions` is the document's own update
    against its state vector (no items, its delete set). A state vector alone cannot tell:
    deletions do not advance it, and an incremental update has none of its own.
    """
    incoming = Decoder(missing)
    if incoming.var_uint():
        return False
    known = Decoder(known_deletions)
    if known.var_uint():
        return False
    deleted = read_delete_set(known)
    for client, spans in read_delete_set(incoming).items():
        held = deleted.get(client, [])
        if not all(any(lo <= start and end <= hi for lo, hi in held) for start, end in spans):
            return False
    return True


def update_adds_nothing(doc: pycrdt.Doc, update: bytes) -> bool:
    """Whether a (decodable) update holds no item and no deletion `doc` lacks (then it is no edit)."""
    state_vector = doc.get_state()
    try:
        missing = pycrdt.get_update(update, state_vector)
    except ValueError:
        return False
    if not missing.startswith(b"\x00"):  # items the document lacks: no need to look at deletions
        return False
    return adds_nothing(missing, doc.get_update(state_vector))
