"""Bad input on the sockets: errors for the sender, nothing stored, the room keeps working (SPEC §5.2, §5.4, §9)."""

import asyncio

import pytest

from collab import protocol as p
from collab.models import CollabState, CollabUpdate, Presence
from collab.tests.live import append_to_block, block_text, markdown_of, stored_markdown, wait_servers_idle
from collab.tests.yclient import HocuspocusClient, HocuspocusSocket, YWebsocketClient

pytestmark = pytest.mark.django_db(transaction=True)

FLOOD = 600
# The SPEC's limits (§5.4), written out rather than imported from the code under test.
MESSAGE_MAX_BYTES = 8 * 1024 * 1024
STATE_MAX_BYTES = 32 * 1024 * 1024
# (frame, error code) for the y-websocket dialect
YWS_BAD_FRAMES = [
    (b"", "unknown_message"),  # nothing to read
    (b"\xff\xff\xff", "unknown_message"),  # garbage: an unterminated varint
    (b"\x07\x00", "unknown_message"),  # unknown message type
    (b"\x02\x00\x00", "unknown_message"),  # auth is server-to-client only
    (b"\x00", "unknown_message"),  # sync without its sync type
    (b"\x00\x02\x85", "unknown_message"),  # update whose length varint is truncated
    (b"\x00\x02\x10abc", "unknown_message"),  # update shorter than its length
    (b"\x00\x09\x00", "unknown_message"),  # unknown sync type
    (p.ws_sync(p.SYNC_UPDATE, b"not a yjs update"), "invalid_update"),
    (p.ws_sync(p.SYNC_STEP2, b"\x01\x01"), "invalid_update"),
    (p.ws_sync(p.SYNC_UPDATE, b""), "invalid_update"),
    (p.var_uint(p.MSG_AWARENESS) + b"\x05", "unknown_message"),  # awareness length beyond the frame
]


def test_consumers_bad_frames_ywebsocket_errors_and_the_room_keeps_working(daphne, steps, tokens, live_doc):
    async def scenario():
        sender = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        other = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        for client in (sender, other):
            await client.wait_for(lambda c=client: c.synced.is_set())
        await sender.ping()
        for frame, _ in YWS_BAD_FRAMES:
            await sender.send_raw(frame)
        await sender.wait_for(lambda: len(sender.events_of("error")) == len(YWS_BAD_FRAMES))
        # Both connections and the room still work, in both directions.
        append_to_block(sender, 1, " from sender")
        append_to_block(other, 2, " from other")
        await sender.wait_for(lambda: "from other" in sender.text and "from sender" in other.text)
        await other.wait_for(lambda: len(other.statuses) == len(other.sent))
        await sender.ping()
        return sender, other

    sender, other = steps(scenario())
    assert [error["code"] for error in sender.events_of("error")] == [code for _, code in YWS_BAD_FRAMES]
    assert all(error["detail"] for error in sender.events_of("error"))
    assert other.events_of("error") == [] and sender.close_code is None
    # Only the two good updates were stored.
    assert CollabUpdate.objects.filter(document=live_doc).count() == len(sender.edits) + len(other.edits) == 2
    assert "First paragraph. from sender" in stored_markdown(live_doc.pk)
    assert "Second paragraph. from other" in stored_markdown(live_doc.pk)


def test_consumers_bad_frames_hocuspocus_invalid_update_is_refused_and_garbage_ignored(daphne, steps, tokens, live_doc):
    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        client = await hub.open(live_doc.pk, tokens["editor"])
        await client.wait_for(lambda: client.synced.is_set() and len(client.statuses) == len(client.sent))
        acknowledged = len(client.statuses)
        await client.send_sync(p.SYNC_UPDATE, b"not a yjs update")
        await client.send_sync(p.SYNC_STEP2, b"\x01\x01", reply=True)
        await client.wait_for(lambda: len(client.statuses) == acknowledged + 2)
        # Frames that do not decode at all (no document name, truncated varints) are ignored.
        for garbage in (b"", b"\xff\xff", b"\x05abc", p.var_string(client.name) + b"\x00\x02\x85"):
            await hub.socket.send(garbage)
        await client.ping()
        append_to_block(client, 1, " still editing")
        await client.wait_for(lambda: len(client.statuses) == acknowledged + 3)
        return hub, client, acknowledged

    hub, client, acknowledged = steps(scenario())
    assert client.statuses[acknowledged:] == [0, 0, 1]
    assert [error["code"] for error in client.events_of("error")] == ["invalid_update", "invalid_update"]
    assert hub.socket.close_code is None
    assert "still editing" in stored_markdown(live_doc.pk)


@pytest.mark.parametrize("dialect", ["ywebsocket", "hocuspocus"])
def test_consumers_bad_frames_oversize_message_closes_1009(daphne, steps, tokens, live_doc, dialect):
    async def scenario():
        if dialect == "ywebsocket":
            big = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        else:
            big = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        other = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        await big.wait_for(lambda: big.synced.is_set() and other.synced.is_set())
        await big.socket.send(p.ws_sync(p.SYNC_UPDATE, b"\x00" * MESSAGE_MAX_BYTES))
        code = await big.wait_closed()
        append_to_block(other, 1, " after")
        await other.ping()
        return code, other

    code, other = steps(scenario())
    assert code == 1009
    assert other.close_code is None and "after" in markdown_of(other)


@pytest.mark.parametrize("dialect", ["ywebsocket", "hocuspocus"])
def test_consumers_bad_frames_update_flood_closes_4429(daphne, steps, team, tokens, live_doc, dialect):
    async def scenario():
        if dialect == "ywebsocket":
            flooder = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        else:
            flooder = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        other = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        await flooder.wait_for(lambda: flooder.synced.is_set() and other.synced.is_set())
        run = block_text(flooder, 1)
        for _ in range(FLOOD):  # far above 50 updates/s averaged over 5 s
            run.insert(len(run), "x")
            await asyncio.sleep(0)
        code = await flooder.wait_closed()
        return code, other

    code, other = steps(scenario())
    assert code == 4429
    wait_servers_idle()  # the updates accepted before the close are still being written

    async def still_working():
        append_to_block(other, 2, " survivor")
        await other.ping()

    steps(still_working())
    assert other.close_code is None and "survivor" in markdown_of(other)
    # Every update accepted before the close (about 5 s worth of the limit) is stored, applied and relayed.
    accepted = CollabUpdate.objects.filter(document=live_doc, user=team.user("editor")).count()
    assert 240 <= accepted < FLOOD  # the 5 s burst allowance, plus what refilled while flooding
    assert markdown_of(other).count("x") == stored_markdown(live_doc.pk).count("x") == accepted


def test_consumers_bad_frames_database_failure_closes_1011_and_nothing_is_relayed(daphne, steps, team, tokens, live_doc):
    async def connect():
        writer = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        other = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        await writer.wait_for(lambda: writer.synced.is_set() and other.synced.is_set())
        await writer.wait_for(lambda: len(writer.statuses) == len(writer.sent))
        await other.ping()
        return writer, other

    writer, other = steps(connect())
    rows = CollabUpdate.objects.filter(document=live_doc).count()
    # The durable state disappears under the open room (an operator's hand): the next write cannot commit.
    CollabState.objects.filter(document=live_doc).delete()

    async def edit():
        acknowledged = len(writer.statuses)
        append_to_block(writer, 1, " lost")
        code = await writer.wait_closed()
        await other.ping()
        return code, writer.statuses[acknowledged:]

    code, late_statuses = steps(edit())
    assert code == 1011
    assert late_statuses == []  # never acknowledged: the provider resends it after reconnecting
    assert "lost" not in other.text and other.close_code is None
    assert CollabUpdate.objects.filter(document=live_doc).count() == rows
    wait_servers_idle()
    # The consumer survived its own close: the writer's session ended normally.
    assert not Presence.objects.filter(user=team.user("editor"), is_active=True).exists()
    assert Presence.objects.filter(user=team.user("owner"), is_active=True).exists()


def test_consumers_bad_frames_document_too_large_is_refused(daphne, steps, tokens, live_doc):
    async def connect():
        writer = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await writer.wait_for(lambda: writer.synced.is_set() and len(writer.statuses) == len(writer.sent))
        return writer

    writer = steps(connect())
    CollabState.objects.filter(document=live_doc).update(size_bytes=STATE_MAX_BYTES - 8)

    async def edit():
        acknowledged = len(writer.statuses)
        append_to_block(writer, 1, " this does not fit any more")
        await writer.wait_for(lambda: len(writer.statuses) > acknowledged)
        await writer.ping()
        return writer.statuses[acknowledged:]

    assert steps(edit()) == [0]
    assert [error["code"] for error in writer.events_of("error")] == ["document_too_large"]
    assert writer.close_code is None
    assert not CollabUpdate.objects.filter(document=live_doc).exists()
