"""Socket fuzzer: random and mutated y-websocket and Hocuspocus frames from members of every role against a live
daphne (SPEC §5, §9). Afterwards a well-behaved neighbour was never closed and converges with an editor, no
presence is left behind by the closed fuzzing sockets, every stored update decodes and applies, and the server
is healthy.

SOCKET_FUZZ_FRAMES sets how many frames are sent in all (bounded by default, for `make test`); SOCKET_FUZZ_SEED
replays a run (the seed of a failed run is in its failure message and printed output).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import json
import os
import random
import time
from dataclasses import dataclass, field

import httpx
import pycrdt
import pytest
import websockets

from collab import protocol as p
from collab.awareness import encode_update
from collab.models import CollabState, CollabUpdate, Presence
from collab.tests.live import stored_doc, wait_servers_idle
from collab.tests.yclient import HocuspocusClient, YWebsocketClient

pytestmark = pytest.mark.django_db(transaction=True)

FRAMES = int(os.environ.get("SOCKET_FUZZ_FRAMES", "3000"))
SEED = int(os.environ.get("SOCKET_FUZZ_SEED") or random.SystemRandom().randrange(2**32))
ROLES = ("owner", "editor", "commenter", "viewer")
DIALECTS = ("ywebsocket", "hocuspocus")
ROUND_TRIP_EVERY = 20  # frames between two round trips that prove the fuzzing socket is still served
OVERSIZE = 8 * 1024 * 1024 + 16  # SPEC §5.4's message limit, passed
OVERSIZE_EVERY = 10_000  # one oversize frame per dialect per this many frames (at least one per dialect)
REST_EVERY = 40  # one update in this many is also POSTed to yjs-state
WAIT = 60.0  # generous: a loaded 2-core machine


# --- payloads ---------------------------------------------------------------------------------------------


def nested(rng: random.Random) -> str:
    depth = rng.choice([33, 40, 200, 3000, 20_000])
    opener, closer = rng.choice([("[", "]"), ('{"a":', "}")])
    return opener * depth + "1" + closer * depth


def mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.4 and out:
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif choice < 0.55 and out:
            del out[rng.randrange(len(out)) :]
        elif choice < 0.8:
            out.insert(rng.randrange(len(out) + 1), rng.randrange(256))
        elif out:
            del out[rng.randrange(len(out))]
    return bytes(out)


def huge_uint(rng: random.Random) -> bytes:
    return p.var_uint(rng.choice([2**20, 2**31, 2**32 + 5, 2**53, 2**63 - 1, 2**64 + 3, 2**70]))


def truncated_uint(rng: random.Random) -> bytes:
    return b"\xff" * rng.randint(1, 12)


def random_text(rng: random.Random) -> str:
    alphabet = '{}[]":,0123456789abcdefnulltrue \\\u00e9\u4e2d\U0001f600'
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))


TEXTS = {
    "bad_json": lambda rng: rng.choice(["{", '{"type": ', "[1,", '{"type": "ping"', "\x00", '{"type": "ping"}}']),
    "deep_json": lambda rng: '{"type": "cursor", "position": {"from": 0, "to": 0}, "selection": ' + nested(rng) + "}",
    "random_text": random_text,
    "cursor": lambda rng: json.dumps({"type": "cursor", "position": {"from": 3, "to": 3 + rng.randint(0, 5)}}),
    "weird_cursor": lambda rng: json.dumps(
        {"type": "cursor", "position": {"from": (value := rng.choice([-1, 2**70, 1.5, None, "x", True, [], {}])),
                                        "to": value}, "selection": value}
    ),
    "ping": lambda rng: json.dumps({"type": "ping"}),
    "big_number": lambda rng: '{"type": "cursor", "position": {"from": ' + "9" * rng.choice([100, 5000]) + ', "to": 1}}',
    "not_object": lambda rng: rng.choice(['"ping"', "[]", "null", "42", '[{"type": "ping"}]']),
    "nan": lambda rng: rng.choice(['{"type": "cursor", "position": {"from": NaN, "to": 1}}', '{"type": Infinity}']),
}


def json_text(rng: random.Random) -> tuple[str, str]:
    """A text event (or Stateless payload) and its category."""
    kind = rng.choice(list(TEXTS))
    return TEXTS[kind](rng), kind


def _state(rng: random.Random, state: str) -> bytes:
    return encode_update([(rng.randrange(1, 2**32), rng.randint(0, 9), state)])


AWARENESS = {
    "ok": lambda rng: _state(rng, json.dumps({"user": {"name": "fuzz"}})),
    "bad_json": lambda rng: _state(rng, random_text(rng) + "{"),
    "deep_json": lambda rng: _state(rng, '{"cursor": ' + nested(rng)[:15_000] + "}"),
    "nan": lambda rng: _state(rng, '{"x": NaN}'),
    "oversize_state": lambda rng: _state(rng, json.dumps({"pad": "x" * 20_000})),
    "trailing": lambda rng: _state(rng, "{}") + b"\x01\x02",
    "huge_count": lambda rng: huge_uint(rng) + b"\x01\x01\x02{}",
    "truncated": lambda rng: _state(rng, '{"a": 1}')[: rng.randint(1, 6)],
    "null_state": lambda rng: _state(rng, "null"),
}


def awareness_payload(rng: random.Random) -> tuple[bytes, str]:
    kind = rng.choice(list(AWARENESS))
    return AWARENESS[kind](rng), kind


@dataclass
class Material:
    """Valid Yjs bytes the fuzzers start from: the document's state when the barrage began."""

    state: bytes
    state_vector: bytes

    def valid_edit(self, rng: random.Random) -> bytes:
        doc = pycrdt.Doc()
        doc.apply_update(self.state)
        before = doc.get_state()
        fragment = doc.get("content", type=pycrdt.XmlFragment)
        fragment.children.insert(
            rng.randint(0, len(fragment.children)), pycrdt.XmlElement("paragraph", {}, [f"fuzz {rng.randrange(10**6)}"])
        )
        return doc.get_update(before)

    def foreign_root(self, rng: random.Random) -> bytes:
        doc = pycrdt.Doc()
        doc.apply_update(self.state)
        before = doc.get_state()
        choice = rng.randrange(4)
        if choice == 0:
            doc.get("content", type=pycrdt.Text).insert(0, "foreign")
        elif choice == 1:
            doc.get("content", type=pycrdt.Array).append(pycrdt.Text("foreign"))
        elif choice == 2:
            doc.get("content", type=pycrdt.Array).append(rng.choice([1, "x", pycrdt.Map({"a": 1}), pycrdt.Array([2])]))
        else:
            doc.get("content", type=pycrdt.Map)["k"] = "v"
        return doc.get_update(before)

    def update(self, rng: random.Random) -> tuple[bytes, str]:
        """A sync payload's update: garbage, mutated, foreign at the root, or valid."""
        kind = rng.choice(["garbage", "mutated", "mutated", "mutated_state", "foreign_root", "valid", "empty"])
        if kind == "garbage":
            return rng.randbytes(rng.randint(0, 48)), kind
        if kind == "mutated":
            return mutate(rng, self.valid_edit(rng)), kind
        if kind == "mutated_state":
            return mutate(rng, self.state), kind
        if kind == "foreign_root":
            return self.foreign_root(rng), kind
        if kind == "valid":
            return self.valid_edit(rng), kind
        return b"\x00\x00", kind

    def sync_payload(self, rng: random.Random) -> tuple[bytes, str]:
        """The body of a sync message (after its outer type): step 1, step 2, update, or broken framing."""
        kind = rng.choice(["step1_bad", "step1_ok", "update", "update", "update", "huge_length", "truncated",
                           "unknown_sync_type", "empty"])
        if kind == "step1_bad":
            return p.sync_payload(p.SYNC_STEP1, rng.choice([mutate(rng, self.state_vector), rng.randbytes(9),
                                                            b"\x05\x81", truncated_uint(rng)])), kind
        if kind == "step1_ok":
            return p.sync_payload(p.SYNC_STEP1, self.state_vector), kind
        if kind == "update":
            update, sort = self.update(rng)
            return p.sync_payload(rng.choice([p.SYNC_STEP2, p.SYNC_UPDATE]), update), f"update_{sort}"
        if kind == "huge_length":
            return p.var_uint(rng.choice([p.SYNC_STEP1, p.SYNC_UPDATE])) + huge_uint(rng) + rng.randbytes(4), kind
        if kind == "truncated":
            return p.var_uint(p.SYNC_UPDATE) + truncated_uint(rng), kind
        if kind == "unknown_sync_type":
            return p.var_uint(rng.choice([3, 9, 200, 2**40])) + p.var_bytes(rng.randbytes(4)), kind
        return b"", kind


# --- fuzzing clients --------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What one run sent and saw."""

    sent: collections.Counter = field(default_factory=collections.Counter)
    closes: collections.Counter = field(default_factory=collections.Counter)
    oversize_sent: int = 0
    rest_statuses: collections.Counter = field(default_factory=collections.Counter)
    connections: int = 0

    @property
    def frames(self) -> int:
        return sum(self.sent.values())


class Fuzzer:
    """One member's raw socket in one dialect, sending hostile frames and reconnecting whenever closed."""

    def __init__(self, base: str, http: str, dialect: str, role: str, token: str, document_id, material: Material,
                 rng: random.Random, tally: Tally):
        self.base, self.http, self.dialect, self.role, self.token = base, http, dialect, role, token
        self.document_id, self.address = document_id, str(document_id)
        self.material, self.rng, self.tally = material, rng, tally
        self.socket = None
        self.reader: asyncio.Task | None = None
        self.answers = 0  # round-trip answers received

    async def connect(self) -> None:
        self.tally.connections += 1
        if self.dialect == "ywebsocket":
            events = "&events=json" if self.rng.random() < 0.5 else ""
            url = f"{self.base}/ws/documents/{self.document_id}?token={self.token}{events}"
            self.socket = await websockets.connect(url, max_size=None)
        else:
            self.socket = await websockets.connect(f"{self.base}/ws/collab", max_size=None)
            await self.socket.send(self.auth(self.token))
        self.reader = asyncio.create_task(self.read())

    def auth(self, token: str, address: str | None = None) -> bytes:
        return p.hp_frame(address or self.address, p.HP_AUTH, p.var_uint(p.AUTH_TOKEN) + p.var_string(token))

    async def read(self) -> None:
        try:
            async for frame in self.socket:
                if isinstance(frame, bytes) and self.is_answer(frame):
                    self.answers += 1
        except websockets.ConnectionClosed:
            pass

    def is_answer(self, frame: bytes) -> bool:
        """The answer to a round trip: a sync step 2 (y-websocket) or a PermissionDenied for a bogus name."""
        if self.dialect == "ywebsocket":
            return frame.startswith(b"\x00\x01")
        return frame.startswith(p.var_string("round-trip") + p.var_uint(p.HP_AUTH))

    async def closed(self) -> int | None:
        """The close code if the server closed the socket (recorded), else None."""
        if self.socket.close_code is None and not self.reader.done():
            return None
        await asyncio.wait_for(self.socket.wait_closed(), WAIT)
        self.tally.closes[self.socket.close_code] += 1
        return self.socket.close_code

    async def send(self, frame, category: str) -> None:
        self.tally.sent[f"{self.dialect}:{category}"] += 1
        try:
            await self.socket.send(frame)
        except websockets.ConnectionClosed:
            pass

    async def round_trip(self) -> None:
        """Ask for an answer and wait for it: every earlier frame of this socket has been handled."""
        before = self.answers
        if self.dialect == "ywebsocket":
            frame = p.ws_sync(p.SYNC_STEP1, b"\x00")
        else:
            frame = self.auth(self.token, "round-trip")
        try:
            await self.socket.send(frame)
        except websockets.ConnectionClosed:
            return
        deadline = time.monotonic() + WAIT
        while self.answers == before and not self.reader.done():
            assert time.monotonic() < deadline, f"seed {SEED}: {self.dialect} {self.role} socket stopped answering"
            await asyncio.sleep(0.01)

    async def run(self, frames: int, oversize_at: set[int], rest: httpx.AsyncClient) -> None:
        await self.connect()
        for index in range(frames):
            if await self.closed() is not None:
                await self.connect()
            if index in oversize_at:
                self.tally.oversize_sent += 1
                await self.send(self.oversize(), "oversize")
                continue
            frame, category = self.frame()
            await self.send(frame, category)
            if category.startswith("update_") and index % REST_EVERY == 0:
                await self.post(rest, frame)
            if index % ROUND_TRIP_EVERY == ROUND_TRIP_EVERY - 1:
                await self.round_trip()
        await self.socket.close()
        self.reader.cancel()

    async def post(self, rest: httpx.AsyncClient, frame: bytes) -> None:
        """The same bytes as a REST update (whatever the frame held after its headers)."""
        update = frame[-self.rng.randint(1, max(1, len(frame))) :]
        response = await rest.post(
            f"/documents/{self.document_id}/yjs-state", json={"update_b64": base64.b64encode(update).decode()},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        self.tally.rest_statuses[response.status_code] += 1

    def oversize(self) -> bytes:
        body = b"\x00" * OVERSIZE
        if self.dialect == "ywebsocket":
            return p.ws_sync(p.SYNC_UPDATE, body)
        return p.hp_sync(self.address, p.SYNC_UPDATE, body)

    def frame(self) -> tuple[bytes | str, str]:
        table = YWEBSOCKET_FRAMES if self.dialect == "ywebsocket" else HOCUSPOCUS_FRAMES
        build = self.rng.choices([build for _, build in table], weights=[weight for weight, _ in table])[0]
        return build(self)

    def some_address(self) -> str:
        """Mostly the fuzzer's document; now and then a name never authenticated, or a second session of it."""
        if self.rng.random() < 0.85:
            return self.address
        return self.rng.choice(["", "not-a-uuid", "00000000-0000-0000-0000-000000000000", self.address + "\x00x",
                                random_text(self.rng)])


def _ws_sync(fuzzer: Fuzzer):
    payload, kind = fuzzer.material.sync_payload(fuzzer.rng)
    return p.var_uint(p.MSG_SYNC) + payload, kind


def _ws_awareness(fuzzer: Fuzzer):
    payload, kind = awareness_payload(fuzzer.rng)
    return p.ws_awareness(payload), f"awareness_{kind}"


def _ws_text(fuzzer: Fuzzer):
    text, kind = json_text(fuzzer.rng)
    return text, f"text_{kind}"


YWEBSOCKET_FRAMES = [
    (35, _ws_sync),
    (15, _ws_awareness),
    (15, _ws_text),
    (10, lambda fuzzer: (fuzzer.rng.randbytes(fuzzer.rng.randint(0, 64)), "random_bytes")),
    (5, lambda fuzzer: (truncated_uint(fuzzer.rng), "truncated_varint")),
    (8, lambda fuzzer: (p.var_uint(fuzzer.rng.choice([p.MSG_AUTH, 4, 5, 9, 127, 2**31]))
                        + fuzzer.rng.randbytes(fuzzer.rng.randint(0, 8)), "wrong_type")),
    (6, lambda fuzzer: (p.var_uint(fuzzer.rng.choice([p.MSG_SYNC, p.MSG_AWARENESS])) + huge_uint(fuzzer.rng) + b"\x00",
                        "huge_length")),
    (6, lambda fuzzer: (p.var_uint(p.MSG_QUERY_AWARENESS), "query_awareness")),
]


def _hp_sync(fuzzer: Fuzzer):
    payload, kind = fuzzer.material.sync_payload(fuzzer.rng)
    return p.hp_frame(fuzzer.some_address(), fuzzer.rng.choice([p.HP_SYNC, p.HP_SYNC_REPLY]), payload), kind


def _hp_awareness(fuzzer: Fuzzer):
    payload, kind = awareness_payload(fuzzer.rng)
    return p.hp_frame(fuzzer.some_address(), p.HP_AWARENESS, p.var_bytes(payload)), f"awareness_{kind}"


def _hp_stateless(fuzzer: Fuzzer):
    text, kind = json_text(fuzzer.rng)
    return p.hp_frame(fuzzer.some_address(), p.HP_STATELESS, p.var_string(text)), f"stateless_{kind}"


def _hp_auth(fuzzer: Fuzzer):
    rng = fuzzer.rng
    token = rng.choice([fuzzer.token, "", "garbage", fuzzer.token[:-3] + "abc", random_text(rng)])
    sub = rng.choice([p.AUTH_TOKEN, p.AUTH_TOKEN, 1, 2, 77])
    return p.hp_frame(fuzzer.some_address(), p.HP_AUTH, p.var_uint(sub) + p.var_string(token)), "auth"


def _hp_other(fuzzer: Fuzzer):
    kind = fuzzer.rng.choice([p.HP_BROADCAST_STATELESS, p.HP_SYNC_STATUS, p.HP_PING, p.HP_PONG, p.HP_QUERY_AWARENESS,
                              11, 99, 2**33])
    return p.hp_frame(fuzzer.some_address(), kind, fuzzer.rng.randbytes(fuzzer.rng.randint(0, 8))), "other_type"


HOCUSPOCUS_FRAMES = [
    (30, _hp_sync),
    (12, _hp_awareness),
    (15, _hp_stateless),
    (6, _hp_auth),
    # The fuzzer's own document, once closed, is authenticated again by a later "reauth" frame.
    (3, lambda fuzzer: (p.hp_frame(fuzzer.some_address(), p.HP_CLOSE, p.var_string("bye")), "close")),
    (4, lambda fuzzer: (fuzzer.auth(fuzzer.token), "reauth")),
    (8, _hp_other),
    (8, lambda fuzzer: (fuzzer.rng.randbytes(fuzzer.rng.randint(0, 64)), "random_bytes")),
    (4, lambda fuzzer: (truncated_uint(fuzzer.rng), "truncated_varint")),
    (5, lambda fuzzer: (huge_uint(fuzzer.rng) + b"abc", "huge_name_length")),
    (5, lambda fuzzer: (p.var_bytes(b"\xff\xfe" + fuzzer.rng.randbytes(4)) + p.var_uint(p.HP_SYNC), "invalid_utf8_name")),
]


# --- the run ----------------------------------------------------------------------------------------------


def _log_since(path, offset: int) -> str:
    with open(path, errors="replace") as log:
        log.seek(offset)
        return log.read()


def _fuzzers(daphne, tokens, document_id, material: Material, rng: random.Random, tally: Tally, per_fuzzer: int):
    """One fuzzer per role and dialect with the positions of its oversize frames (one role per dialect sends them)."""
    fuzzers = []
    for dialect in DIALECTS:
        oversize_owner = rng.choice(ROLES)
        for role in ROLES:
            count = max(1, FRAMES // OVERSIZE_EVERY) if role == oversize_owner else 0
            oversize_at = set(rng.sample(range(per_fuzzer), min(count, per_fuzzer)))
            fuzzer = Fuzzer(daphne.ws, daphne.http, dialect, role, tokens[role], document_id, material,
                            random.Random(rng.randrange(2**32)), tally)
            fuzzers.append((fuzzer, oversize_at))
    return fuzzers


async def _keep_editing(*clients) -> None:
    """Well-behaved edits: a new paragraph from each client every 0.3 s."""
    index = 0
    while True:
        await asyncio.sleep(0.3)
        for client in clients:
            index += 1
            client.fragment.children.append(pycrdt.XmlElement("paragraph", {}, [f"good edit {index}"]))


async def _converge(daphne, tokens, document_id, neighbour, editor) -> None:
    """The neighbour and the editor edit once more and converge, with each other and with a newcomer."""
    neighbour.fragment.children.append(pycrdt.XmlElement("paragraph", {}, ["neighbour after"]))
    editor.fragment.children.append(pycrdt.XmlElement("paragraph", {}, ["editor after"]))
    await neighbour.wait_for(
        lambda: "editor after" in neighbour.text and "neighbour after" in editor.text and neighbour.text == editor.text,
        WAIT,
    )
    await editor.wait_for(lambda: len(editor.statuses) >= len(editor.edits), WAIT)
    newcomer = await YWebsocketClient.connect(daphne.ws, document_id, tokens["viewer"])
    try:
        await newcomer.wait_for(lambda: newcomer.synced.is_set() and newcomer.text == neighbour.text, WAIT)
    finally:
        await newcomer.close()
    await neighbour.ping()
    await editor.ping()


def _assert_no_presence_left(team, summary: str) -> None:
    wait_servers_idle(timeout=WAIT)
    deadline = time.monotonic() + WAIT
    fuzzing_users = [team.user(role) for role in ROLES]  # the newcomer was a viewer too
    while Presence.objects.filter(user__in=fuzzing_users, is_active=True).exists():
        assert time.monotonic() < deadline, f"{summary}: presence left behind"
        time.sleep(0.1)
    assert Presence.objects.filter(user=team.user("admin"), is_active=True).count() == 2, summary


def _assert_store_sound(document_id, summary: str) -> None:
    """Every stored update decodes and applies, and the root `content` holds XML only."""
    for row in CollabUpdate.objects.filter(document_id=document_id).order_by("seq"):
        pycrdt.get_state(bytes(row.update))
    record = CollabState.objects.get(document_id=document_id)
    if record.state:
        pycrdt.get_state(bytes(record.state))
    doc = stored_doc(document_id)
    items = list(doc.get("content", type=pycrdt.Array))
    assert all(isinstance(item, pycrdt.XmlElement | pycrdt.XmlText) for item in items), summary
    assert "editor after" in str(doc.get("content", type=pycrdt.XmlFragment)), summary


def test_socket_fuzz_hostile_frames_from_every_role_harm_nobody(daphne, steps, team, tokens, live_doc):
    print(f"socket fuzz seed {SEED}, {FRAMES} frames (SOCKET_FUZZ_SEED={SEED} replays it)")
    rng = random.Random(SEED)
    tally = Tally()
    logged = daphne.log.stat().st_size if daphne.log.exists() else 0
    per_fuzzer = max(1, FRAMES // (len(ROLES) * len(DIALECTS)))

    async def barrage():
        # The well-behaved pair: an admin's stock-dialect neighbour and an admin editing over Hocuspocus.
        neighbour = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["admin"]))
        editor = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["admin"]))
        for client in (neighbour, editor):
            await client.wait_for(lambda c=client: c.synced.is_set() and c.events_of("presence_list"), WAIT)
        material = Material(state=neighbour.doc.get_update(), state_vector=neighbour.doc.get_state())
        fuzzers = _fuzzers(daphne, tokens, live_doc.pk, material, rng, tally, per_fuzzer)
        editing = asyncio.create_task(_keep_editing(neighbour, editor))
        async with httpx.AsyncClient(base_url=f"{daphne.http}/api/v1", timeout=WAIT) as rest:
            await asyncio.gather(*(fuzzer.run(per_fuzzer, oversize_at, rest) for fuzzer, oversize_at in fuzzers))
        editing.cancel()
        await _converge(daphne, tokens, live_doc.pk, neighbour, editor)
        return neighbour, editor

    started = time.monotonic()
    neighbour, editor = steps(barrage(), timeout=1500)
    summary = (
        f"seed {SEED}: {tally.frames} frames over {tally.connections} connections in {time.monotonic() - started:.1f} s"
        f" ({tally.oversize_sent} oversize); closes {dict(tally.closes)}; REST {dict(tally.rest_statuses)}"
    )
    print(summary)
    print("frames by kind:", dict(sorted(tally.sent.items())))
    assert neighbour.close_code is None and editor.close_code is None, summary
    assert editor.statuses.count(0) == 0, summary  # none of the editor's updates was refused
    assert neighbour.events_of("error") == [] and editor.events_of("error") == [], summary
    assert set(tally.closes) <= {1009, 4429}, summary  # never 1011 (nor a dropped connection, 1006)
    assert tally.closes[1009] <= tally.oversize_sent, summary
    assert not [status for status in tally.rest_statuses if status >= 500], summary
    _assert_no_presence_left(team, summary)
    _assert_store_sound(live_doc.pk, summary)
    # The server is healthy: alive, answering, and no message failed in an unforeseen way.
    assert daphne.process.poll() is None, summary
    assert httpx.get(f"{daphne.http}/healthz", timeout=WAIT).status_code == 200, summary
    log = _log_since(daphne.log, logged)
    assert "Exception inside application" not in log and "Traceback" not in log, f"{summary}: {log[-3000:]}"
