"""The y-websocket dialect frame by frame at /ws/documents/{id} (SPEC §5.2)."""

import asyncio
import json

import pycrdt
import pytest
import websockets

from collab import protocol as p
from collab.markdown import fragment_to_markdown
from collab.tests.live import append_to_block, markdown_of, normalized
from collab.tests.yclient import YWebsocketClient

pytestmark = pytest.mark.django_db(transaction=True)


async def _frames_until(socket, predicate, timeout=10.0) -> list:
    frames = []
    async with asyncio.timeout(timeout):
        while not predicate(frames):
            frames.append(await socket.recv())
    return frames


def _sync(frame) -> tuple[int, bytes] | None:
    """(sync type, payload) of a binary sync frame, else None."""
    if isinstance(frame, str):
        return None
    decoder = p.Decoder(frame)
    if decoder.var_uint() != p.MSG_SYNC:
        return None
    return decoder.var_uint(), decoder.var_bytes()


def test_consumers_ywebsocket_handshake_step1_then_presence_and_step2_answers(daphne, steps, tokens, live_doc):
    async def scenario():
        url = f"{daphne.ws}/ws/documents/{live_doc.pk}?token={tokens['viewer']}&events=json"
        async with websockets.connect(url, max_size=None) as socket:
            greeting = await _frames_until(socket, lambda fs: any(isinstance(f, str) for f in fs))
            # An empty client asks with its (empty) state vector: the answer is the whole document.
            await socket.send(p.ws_sync(p.SYNC_STEP1, pycrdt.Doc().get_state()))
            answer = await _frames_until(socket, lambda fs: any(_sync(f) for f in fs))
            # A client that is up to date gets an update that adds nothing.
            local = pycrdt.Doc()
            local.apply_update(_sync(answer[-1])[1])
            await socket.send(p.ws_sync(p.SYNC_STEP1, local.get_state()))
            nothing = await _frames_until(socket, lambda fs: any(_sync(f) for f in fs))
        return greeting, answer, local, nothing

    greeting, answer, local, nothing = steps(scenario())
    kind, server_vector = _sync(greeting[0])
    assert kind == p.SYNC_STEP1  # the server speaks first with its state vector
    assert json.loads(greeting[-1])["type"] == "presence_list"
    assert _sync(answer[-1])[0] == p.SYNC_STEP2
    assert fragment_to_markdown(local.get("content", type=pycrdt.XmlFragment)) == normalized(live_doc.content)
    assert local.get_state() == server_vector
    kind, payload = _sync(nothing[-1])
    check = pycrdt.Doc()
    check.apply_update(local.get_update())
    before = check.get_update()
    check.apply_update(payload)
    assert kind == p.SYNC_STEP2 and check.get_update() == before


def test_consumers_ywebsocket_stock_clients_get_binary_frames_only_until_they_speak_json(
    daphne, steps, tokens, live_doc
):
    async def scenario():
        stock = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["viewer"], events=False))
        other = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await stock.wait_for(lambda: stock.synced.is_set() and other.synced.is_set())
        await other.send_event({"type": "cursor", "position": {"from": 1, "to": 2}})
        await other.ping()  # the cursor event was handled and fanned out
        await stock.sync_round_trip()  # ... and whatever the stock socket was sent has arrived
        silent = list(stock.events)
        await stock.ping()  # its first JSON frame: from now on it reads JSON events
        return silent, stock.events_of("pong")

    silent, pongs = steps(scenario())
    assert silent == []  # no presence list, no presence join, no cursor: a stock provider throws on text frames
    assert len(pongs) == 1


def test_consumers_ywebsocket_updates_go_to_the_others_not_back_to_the_sender(daphne, steps, tokens, live_doc):
    async def scenario():
        sender = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        receiver = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        await sender.wait_for(lambda: sender.synced.is_set() and receiver.synced.is_set())
        await sender.ping()
        echoed = []
        original = sender.apply_remote
        sender.apply_remote = lambda update: (echoed.append(update), original(update))
        append_to_block(sender, 1, " hello")
        await receiver.wait_for(lambda: "hello" in receiver.text)
        await receiver.ping()
        await sender.ping()
        append_to_block(receiver, 2, " back")
        await sender.wait_for(lambda: "back" in sender.text)
        return sender, receiver, echoed

    sender, receiver, echoed = steps(scenario())
    assert len(echoed) == 1  # only the receiver's edit, never its own (nor anyone's empty step 2)
    assert markdown_of(sender) == markdown_of(receiver)
    assert "First paragraph. hello" in markdown_of(receiver)
