"""Hostile frames from a reader: each is refused on its own, the socket, its room and its presence stay right
(SPEC §5.5, §9: exceptions inside consumers are caught per message; JSON nested at most 32 levels)."""

import asyncio
import contextlib
import json
import time

import pycrdt
import pytest
from channels.testing import WebsocketCommunicator

from collab import protocol as p
from collab.consumers import HocuspocusConsumer
from collab.models import CollabUpdate, Presence
from collab.rooms import registry
from collab.tests.live import append_to_block, connect, stored_doc, stored_markdown, wait_servers_idle
from collab.tests.yclient import HocuspocusClient, HocuspocusSocket, YWebsocketClient
from documents.services.documents import document_create
from workspaces.tests.helpers import client_for

pytestmark = pytest.mark.django_db(transaction=True)

DEEP = 5_000  # past the parser's recursion limit, and an awareness state still under its 16 KiB
SPEC_JSON_DEPTH = 32  # SPEC §9
SPEC_CONNECTIONS_PER_USER = 20  # SPEC §5.4
BAD_STATE_VECTOR = b"\x05\x81"  # five entries announced, a truncated varint read


def nested(depth: int) -> str:
    """A JSON array nested `depth` levels."""
    return "[" * depth + "]" * depth


def nested_event(depth: int = DEEP) -> str:
    return '{"type": "cursor", "position": {"from": 0, "to": 0}, "selection": ' + nested(depth) + "}"


def nested_state(depth: int = DEEP) -> str:
    return '{"user": {"name": "Deep"}, "cursor": ' + nested(depth) + "}"


# (what is sent, the error code answered): (a) step 1 with a state vector that does not decode, (b) deeply nested
# JSON in a text event / Stateless message, (c) deeply nested JSON in an awareness state.
HOSTILE = {
    "state_vector": "invalid_update",
    "nested_event": "unknown_message",
    "nested_awareness": "invalid_update",
}
VIEWER_CLIENT_ID = 4242


async def send_hostile(client, kind: str) -> None:
    if kind == "state_vector":
        await client.send_sync(p.SYNC_STEP1, BAD_STATE_VECTOR)
    elif kind == "nested_event":
        await client.send_event(nested_event())
    else:
        await client.send_awareness([(VIEWER_CLIENT_ID, 2, nested_state())])


def presence_ids(user, document) -> list[str]:
    """The user ids the REST presence endpoint lists."""
    response = client_for(user).get(f"/api/v1/documents/{document.pk}/presence")
    assert response.status_code == 200
    return sorted(entry["id"] for entry in response.json()["users"])


def wait_presence(user, document, expected: list[str]) -> list[str]:
    """Poll the REST presence list until it is `expected` (the server handles closes on its own time)."""
    deadline, listed = time.monotonic() + 15, None
    while time.monotonic() < deadline:
        wait_servers_idle()
        listed = presence_ids(user, document)
        if listed == sorted(expected):
            break
        time.sleep(0.1)
    return listed


@pytest.mark.parametrize("kind", list(HOSTILE))
@pytest.mark.parametrize("dialect", ["ywebsocket", "hocuspocus"])
def test_consumers_hostile_frame_from_a_viewer_is_refused_and_everything_stays_right(
    daphne, steps, team, tokens, live_doc, dialect, kind
):
    viewer, editor = team.user("viewer"), team.user("editor")

    async def scenario():
        neighbour = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await neighbour.wait_for(lambda: neighbour.synced.is_set())
        reader = steps.keep(await connect(dialect, daphne.ws, live_doc.pk, tokens["viewer"]))
        await reader.wait_for(lambda: reader.synced.is_set() and reader.events_of("presence_list"))
        await reader.send_awareness([(VIEWER_CLIENT_ID, 1, json.dumps({"user": {"name": "Viewer"}}))])
        await neighbour.wait_for(lambda: VIEWER_CLIENT_ID in neighbour.awareness_states())
        await send_hostile(reader, kind)
        await reader.wait_for(lambda: reader.events_of("error"))
        # The reader's connection keeps working both ways: pings, sync, edits of others, its own awareness.
        await reader.ping()
        await reader.sync_round_trip()
        append_to_block(neighbour, 1, " after the hostile frame")
        await reader.wait_for(lambda: "after the hostile frame" in reader.text)
        await reader.send_awareness([(VIEWER_CLIENT_ID, 3, json.dumps({"user": {"name": "Viewer again"}}))])
        await neighbour.wait_for(lambda: "Viewer again" in neighbour.awareness_states().get(VIEWER_CLIENT_ID, ""))
        await neighbour.ping()
        return reader, neighbour

    reader, neighbour = steps(scenario())
    assert [error["code"] for error in reader.events_of("error")] == [HOSTILE[kind]]
    assert reader.close_code is None and neighbour.close_code is None
    assert neighbour.events_of("error") == []
    assert all("Deep" not in state for state in neighbour.awareness_states().values())
    assert neighbour.events_of("cursor") == []
    assert presence_ids(editor, live_doc) == sorted([str(viewer.pk), str(editor.pk)])

    async def reader_leaves():
        await reader.close()
        await neighbour.wait_for(lambda: neighbour.events_of("presence", action="leave"))
        await neighbour.wait_for(lambda: neighbour.awareness_states().get(VIEWER_CLIENT_ID) == "null")

    steps(reader_leaves())
    # No ghost: the reader's presence is closed, its awareness removed, the neighbour still edits.
    assert wait_presence(editor, live_doc, [str(editor.pk)]) == [str(editor.pk)]
    assert not Presence.objects.filter(user=viewer, is_active=True).exists()
    assert neighbour.events_of("presence", action="leave")[0]["user"]["id"] == str(viewer.pk)
    assert "after the hostile frame" in stored_markdown(live_doc.pk)
    assert not CollabUpdate.objects.filter(document=live_doc, user=viewer).exists()


@pytest.mark.parametrize("kind", ["state_vector", "nested_awareness"])
def test_consumers_hostile_frame_from_a_stock_client_is_dropped_without_a_text_frame(
    daphne, steps, tokens, live_doc, kind
):
    async def scenario():
        stock = steps.keep(await connect("ywebsocket", daphne.ws, live_doc.pk, tokens["viewer"], events=False))
        frames = []
        original = stock.handle
        stock.handle = lambda frame: (frames.append(frame), original(frame))
        await stock.wait_for(lambda: stock.synced.is_set())
        await send_hostile(stock, kind)
        await stock.sync_round_trip()
        await stock.send_awareness([(VIEWER_CLIENT_ID, 5, json.dumps({"user": {"name": "Stock"}}))])
        await stock.wait_for(lambda: "Stock" in stock.awareness_states().get(VIEWER_CLIENT_ID, ""))
        return stock, frames

    stock, frames = steps(scenario())
    assert stock.close_code is None
    assert not [frame for frame in frames if isinstance(frame, str)]


def test_consumers_hostile_frames_on_one_document_leave_the_sockets_other_documents_alone(
    daphne, steps, team, tokens, live_doc
):
    other = document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "B", "content": "b"})

    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        first = await hub.open(live_doc.pk, tokens["viewer"])
        second = await hub.open(other.pk, tokens["viewer"])
        editor = steps.keep(await HocuspocusClient.connect(daphne.ws, other.pk, tokens["editor"]))
        for client in (first, second, editor):
            await client.wait_for(lambda c=client: c.synced.is_set() and c.events_of("presence_list"))
        for kind in HOSTILE:
            await send_hostile(first, kind)
        await first.wait_for(lambda: len(first.events_of("error")) == len(HOSTILE))
        append_to_block(editor, 0, " still shared")
        await second.wait_for(lambda: "still shared" in second.text)
        await first.ping()
        await second.ping()
        return hub, first, second

    hub, first, second = steps(scenario())
    assert hub.socket.close_code is None
    assert second.events_of("error") == [] and first.close_frames == [] and second.close_frames == []
    assert Presence.objects.filter(user=team.user("viewer"), is_active=True).count() == 2


@pytest.mark.parametrize("dialect", ["ywebsocket", "hocuspocus"])
def test_consumers_hostile_reader_reconnecting_past_the_per_user_limit_is_never_refused(
    daphne, steps, team, tokens, live_doc, dialect
):
    viewer = team.user("viewer")

    async def hostile_session():
        reader = await connect(dialect, daphne.ws, live_doc.pk, tokens["viewer"])
        try:
            await reader.wait_for(lambda: reader.synced.is_set() and reader.events_of("presence_list"))
            for kind in HOSTILE:
                await send_hostile(reader, kind)
            await reader.wait_for(lambda: len(reader.events_of("error")) == len(HOSTILE))
            await reader.ping()
            return reader.close_code
        finally:
            await reader.close()

    codes = [steps(hostile_session()) for _ in range(SPEC_CONNECTIONS_PER_USER + 1)]
    assert codes == [None] * (SPEC_CONNECTIONS_PER_USER + 1)
    assert wait_presence(viewer, live_doc, []) == []
    assert not Presence.objects.filter(user=viewer, is_active=True).exists()

    async def once_more():
        reader = steps.keep(await connect(dialect, daphne.ws, live_doc.pk, tokens["viewer"]))
        await reader.wait_for(lambda: reader.events_of("presence_list"))
        return reader

    assert steps(once_more()).close_code is None


def test_consumers_hostile_json_at_the_depth_limit_is_accepted_and_one_deeper_refused(daphne, steps, tokens, live_doc):
    async def scenario():
        sender = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        receiver = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        for client in (sender, receiver):
            await client.wait_for(lambda c=client: c.events_of("presence_list"))
        # The event object is level 1, `selection` holds the rest: 32 levels in all, then 33.
        await sender.send_event(nested_event(SPEC_JSON_DEPTH - 1))
        await sender.send_event(nested_event(SPEC_JSON_DEPTH))
        await sender.send_awareness([(7, 1, '{"cursor": ' + nested(SPEC_JSON_DEPTH - 1) + "}")])
        await sender.send_awareness([(8, 1, '{"cursor": ' + nested(SPEC_JSON_DEPTH) + "}")])
        await sender.wait_for(lambda: len(sender.events_of("error")) == 2)
        await receiver.wait_for(lambda: receiver.events_of("cursor") and 7 in receiver.awareness_states())
        await sender.ping()
        await receiver.ping()
        return sender, receiver

    sender, receiver = steps(scenario())
    assert [error["code"] for error in sender.events_of("error")] == ["unknown_message", "invalid_update"]
    assert len(receiver.events_of("cursor")) == 1 and 8 not in receiver.awareness_states()


# Decodes as a Yjs update (its state vector reads) but cannot be applied: one of its items names an item that
# is no type as its parent. Stored, it would make the document impossible to load.
DECODES_BUT_DOES_NOT_APPLY = bytes.fromhex(
    "010ceeb7b9bde5bba40500070107636f6e74656e7403097061726167726170680700eeb7b9bde5bba40500060400eeb7b9bde5bba4"
    "05010368656c84eeb7b9bde5bba40504086c6f20776f726c6487eeb7b9bde5bba40500030768656164696e672800eeb7b9bde5bba4"
    "050d056c6576656c017c400000000700eeb7b9bde5bba4050b060400eeb7b9bde5bba4050f0468656164c4eeb7b9bde5bba40504ee"
    "b7b9bde5bba405050161c4eeb7b9bde5bba40514eeb7b9bde5bba4050502626346eeb7b9bde5bba40502040a6f6c64027b7dc6eeb7"
    "b9bde5bba40514eeb7b9bde5bba4051504626f6c64046e756c6c00"
)


@pytest.mark.parametrize("dialect", ["ywebsocket", "hocuspocus"])
def test_consumers_hostile_update_that_decodes_but_cannot_apply_is_refused(
    daphne, steps, team, tokens, live_doc, dialect
):
    async def scenario():
        writer = steps.keep(await connect(dialect, daphne.ws, live_doc.pk, tokens["editor"]))
        neighbour = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        for client in (writer, neighbour):
            await client.wait_for(lambda c=client: c.synced.is_set())
        if dialect == "hocuspocus":
            # The reply to the server's sync step 1 is acknowledged too, possibly after `synced`.
            await writer.wait_for(lambda: len(writer.statuses) == len(writer.sent))
        acknowledged = len(writer.statuses)
        await writer.send_update(DECODES_BUT_DOES_NOT_APPLY)
        await writer.wait_for(lambda: writer.events_of("error"))
        append_to_block(writer, 1, " good edit")
        await neighbour.wait_for(lambda: "good edit" in neighbour.text)
        await writer.ping()
        if dialect == "hocuspocus":
            await writer.wait_for(lambda: len(writer.statuses) >= len(writer.sent))
        return writer, neighbour, writer.statuses[acknowledged:]

    writer, neighbour, statuses = steps(scenario())
    assert [error["code"] for error in writer.events_of("error")] == ["invalid_update"]
    if dialect == "hocuspocus":
        assert statuses == [0, 1]
    assert writer.close_code is None and neighbour.close_code is None
    assert "hello world" not in neighbour.text
    wait_servers_idle()
    stored = stored_doc(live_doc.pk)  # every stored row applies
    assert "good edit" in str(stored.get("content", type=pycrdt.XmlFragment))
    assert CollabUpdate.objects.filter(document=live_doc).count() == 1


def test_consumers_hostile_nul_in_a_hocuspocus_name_or_a_share_token_is_no_server_error(
    daphne, steps, team, tokens, live_doc
):
    """A NUL in a session address (`<name>\\0<session>`) or in a share token never reaches a database string."""

    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        tab = HocuspocusClient(f"{live_doc.pk}\0tab-1")
        tab.hub, tab.socket = hub, hub.socket
        hub.clients[tab.name] = tab
        await tab.authenticate(tokens["viewer"])
        await tab.send_sync(p.SYNC_STEP1, tab.doc.get_state())
        await tab.wait_for(lambda: tab.synced.is_set() and tab.events_of("presence_list"))
        await tab.ping()
        member = steps.keep(
            await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["viewer"], query="share_token=%00")
        )
        await member.wait_for(lambda: member.synced.is_set())
        stranger = await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["non_member"], query="share_token=%00")
        return hub, tab, member, await stranger.wait_closed()

    hub, tab, member, stranger_code = steps(scenario())
    assert tab.scope == "readonly" and hub.socket.close_code is None
    assert member.close_code is None
    assert stranger_code == 4404
    assert Presence.objects.filter(user=team.user("viewer"), is_active=True).count() == 2


def test_consumers_hostile_consumer_cancelled_mid_session_still_cleans_up(steps, team, tokens, live_doc):
    """daphne cancels a consumer that does not end in time after its socket closed: its heartbeat stops, its
    presence closes and its room is left all the same."""
    consumer = HocuspocusConsumer()

    async def scenario():
        communicator = WebsocketCommunicator(consumer, "/ws/collab")
        connected, _ = await communicator.connect(timeout=30)
        assert connected
        name = str(live_doc.pk)
        await communicator.send_to(
            bytes_data=p.hp_frame(name, p.HP_AUTH, p.var_uint(p.AUTH_TOKEN) + p.var_string(tokens["viewer"]))
        )
        authenticated = p.hp_auth(name, p.AUTH_AUTHENTICATED, "readonly")
        while await communicator.receive_from(timeout=30) != authenticated:  # presence_list comes first
            pass
        heartbeat = consumer._heartbeat
        assert heartbeat is not None and not heartbeat.done()
        assert str(live_doc.pk) in registry.rooms
        communicator.future.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await communicator.future
        deadline = time.monotonic() + 30
        while str(live_doc.pk) in registry.rooms or not heartbeat.done():
            assert time.monotonic() < deadline, "the cancelled consumer never cleaned up"
            await asyncio.sleep(0.05)
        return heartbeat

    heartbeat = steps(scenario(), timeout=60)
    assert heartbeat.cancelled()
    assert not Presence.objects.filter(user=team.user("viewer"), is_active=True).exists()
