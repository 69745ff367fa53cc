"""Wire formats: lib0 encoding, y-websocket frames and Hocuspocus frames (SPEC §5.2, §5.3), the JSON the
sockets read (SPEC §9) and what an update may do to the root `content` (SPEC §5.7)."""

from __future__ import annotations

import functools
import json
import re

import pycrdt

from mdcreator.parsers import VALUE_MAX_DEPTH

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
    """Whether a (decodable) update holds no item and no deletion `doc` lacks (then it is no edit).

    Items `doc` holds pending count as lacking: they are not part of its state yet.
    """
    state_vector = doc.get_state()
    try:
        missing = pycrdt.get_update(update, state_vector)
    except ValueError:
        return False
    if not missing.startswith(b"\x00"):  # items the document lacks: no need to look at deletions
        return False
    # pycrdt's own encoding: the integrated items only (a PendingDoc adds its pending ones to `get_update`).
    return adds_nothing(missing, pycrdt.Doc.get_update(doc, state_vector))


def unintegrated(doc: pycrdt.Doc, updates: list[bytes]) -> bytes | None:
    """What `doc` holds pending of `updates`, all applied to it: their items beyond its state vector and, when
    some of their deletions name clocks beyond it, their deletions (one update); None when all took effect.

    Such items depend on items `doc` lacks (another client's missing clocks), and such deletions name
    items it does not hold yet: they wait inside the document until a later update brings what is missing.
    """
    if not updates:
        return None
    update = pycrdt.merge_updates(*updates) if len(updates) > 1 else updates[0]
    state_vector = doc.get_state()
    rest = pycrdt.get_update(update, state_vector)
    decoder = Decoder(rest)
    if decoder.var_uint() or _deletes_beyond(decoder, decode_state_vector(state_vector)):
        return rest
    return None


def _deletes_beyond(decoder: Decoder, clocks: dict[int, int]) -> bool:
    """Whether the delete set `decoder` is at names a clock at or beyond `clocks` (a state vector)."""
    for _ in range(decoder.var_uint()):
        client = decoder.var_uint()
        known = clocks.get(client, 0)
        for _ in range(decoder.var_uint()):
            if decoder.var_uint() + decoder.var_uint() > known:
                return True
    return False


class PendingDoc(pycrdt.Doc):
    """A pycrdt document whose encodings keep the items it holds pending, as Yjs's do.

    An update whose items depend on items the document lacks stays pending inside it until a later
    update supplies them. pycrdt leaves pending items and deletions out of `get_update`; this document
    merges them back in, so that whatever is built from its encoding (a room's copy that checks
    incoming updates, a newcomer's sync step 2, a compacted state) holds them too and integrates them
    exactly when the document itself does. Without them, the update that completes a pending foreign
    insert in the root `content` would be checked on a document where it completes nothing, and a
    legitimate pending edit would vanish from a compacted state or from the copy of a client that
    joined before its dependency arrived. The state vector leaves them out, as in Yjs.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pending: bytes | None = None

    def apply_update(self, update: bytes) -> None:
        super().apply_update(update)
        self.pending = unintegrated(self, [part for part in (self.pending, update) if part is not None])

    def get_update(self, state: bytes | None = None) -> bytes:
        update = super().get_update(state)
        if self.pending is None:
            return update
        pending = self.pending if state is None else pycrdt.get_update(self.pending, state)
        return pycrdt.merge_updates(update, pending)


# --- JSON read from the sockets: events and awareness states (SPEC §9) ------------------------------------

MAX_JSON_DEPTH = VALUE_MAX_DEPTH  # SPEC §9's one nesting limit, for socket JSON as for request bodies
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)  # an unterminated string runs to the end
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_INNERMOST_PAIR = re.compile(r"[\[{][\]}]")


def json_depth_within(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether the arrays and objects of a JSON text nest at most `limit` levels, found without recursing.

    Strings are dropped, then the brackets left lose their innermost pairs once per level: whatever
    remains after `limit` rounds is nested deeper (or unbalanced, which the parser refuses anyway).
    Every step is one linear regular-expression pass, whatever the input.
    """
    if text.count("[") + text.count("{") <= limit:  # the usual event: too few brackets to nest deeper
        return True
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    for _ in range(limit):
        if not brackets:
            return True
        brackets, removed = _INNERMOST_PAIR.subn("", brackets)
        if not removed:
            return False
    return not brackets


MAX_SAFE_INTEGER = 2**53 - 1  # JavaScript's: integers beyond it do not survive a client's JSON.parse


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _safe_integer(literal: str) -> int:
    value = int(literal)
    if abs(value) > MAX_SAFE_INTEGER:
        raise ValueError(f"{literal[:20]} is beyond the integers JavaScript holds exactly")
    return value


def loads_json(text: str, *, safe_integers: bool = False):
    """Strict JSON at most MAX_JSON_DEPTH deep (no NaN or Infinity, which browsers' JSON.parse refuse), and with
    `safe_integers` no integer beyond ±(2**53 - 1) (what the server re-encodes and relays); ValueError otherwise."""
    if not json_depth_within(text):
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if safe_integers:
        return json.loads(text, parse_constant=_no_constant, parse_int=_safe_integer)
    return json.loads(text, parse_constant=_no_constant)


# --- the root `content` stays an XML fragment (SPEC §5.4, §5.7) --------------------------------------------

CONTENT = "content"


class ForeignContentError(ValueError):
    """An update that puts something else than XML elements and XML text in the root `content`."""


def apply_checked(doc: pycrdt.Doc, update: bytes) -> None:
    """Apply `update` to `doc`, a copy the caller throws away on failure, checking what it did to the root.

    Raises ForeignContentError when it inserts anything but XmlElement and XmlText into the root
    `content` fragment (a Y.Text, Y.Array or Y.Map bound to that name by a foreign client: strings,
    values or shared types) or sets a key on it; any other exception means the update does not
    apply. Unknown element names are XML and pass. Only the root's own children are looked at, so
    an edit inside a block costs nothing more than applying it.

    What the root receives is seen when it integrates. An update whose items depend on items `doc`
    lacks stays pending and passes: a real client's update may arrive before its dependency (two tabs
    of one browser share their edits, each tab's socket sends its own), and nothing of it is in the
    document yet. `doc` keeps it pending (see PendingDoc for the copies made of it); the later update
    that brings the missing items integrates it, and is refused here when that puts foreign items in
    the root, whichever client or path sends it. So a pending foreign insert never takes effect, and
    the items it depends on can no longer be stored: a client whose items a foreign update was built
    on gets its update refused like a direct foreign insert.
    """
    foreign = _root_watch(doc)
    foreign.clear()  # what earlier applies saw
    doc.apply_update(update)
    if foreign:
        raise ForeignContentError(f"The update puts {', '.join(sorted(set(foreign)))} in the root `content`.")


def _root_watch(doc: pycrdt.Doc) -> list[str]:
    """The list a standing observer of `doc`'s root `content` appends what foreign it sees inserted to.

    Set up once per document: pycrdt's `observe` inspects the callback's signature, which cost more than
    applying an edit when it was subscribed and dropped around every update.
    """
    found = getattr(doc, "_foreign_seen", None)
    if found is None:
        found = doc._foreign_seen = []
        fragment = doc.get(CONTENT, type=pycrdt.XmlFragment)
        doc._foreign_watch = fragment.observe(functools.partial(_note_foreign, found))
    return found


def _note_foreign(found: list[str], event) -> None:
    try:
        if event.keys:
            found.append("keys " + ", ".join(sorted(map(str, event.keys))))
        for operation in event.delta:
            inserted = operation.get("insert", [])
            for value in inserted if isinstance(inserted, list) else [inserted]:
                if not isinstance(value, (pycrdt.XmlElement, pycrdt.XmlText)):
                    found.append(type(value).__name__)
    except BaseException:  # whatever cannot be read is refused
        found.append("unreadable")


def content_refusal(doc: pycrdt.Doc, update: bytes) -> str | None:
    """Why `update` may not be accepted on top of `doc` (which receives it, whatever the answer), or None."""
    try:
        apply_checked(doc, update)
    except ForeignContentError:
        return "Only XML elements and text may be placed in the root `content` fragment."
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # pycrdt raises ValueError, RuntimeError, or a panic from Rust
        return "The update could not be applied."
    return None
