"""Channel-layer messages from worker threads (mdcreator/events.py)."""

import asyncio
import threading
import uuid

import pytest
from channels.layers import get_channel_layer

from mdcreator import events


@pytest.fixture
def server_loop():
    """An event loop running in its own thread, as daphne's does, made the server loop; restored after."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def adopt():
        events.serve_on(loop)

    asyncio.run_coroutine_threadsafe(adopt(), loop).result(5)
    yield loop

    async def wind_down():
        events._courier.cancel()
        await asyncio.gather(events._courier, return_exceptions=True)
        layer = get_channel_layer()
        if hasattr(layer, "close_pools"):  # Redis connections belong to this loop
            await layer.close_pools()

    asyncio.run_coroutine_threadsafe(wind_down(), loop).result(5)
    events._server_loop = events._outbox = events._courier = None
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_events_worker_threads_hand_messages_to_the_server_loop_in_order(server_loop):
    layer = get_channel_layer()
    group = f"events-test-{uuid.uuid4().hex}"

    async def listen():
        channel = await layer.new_channel()
        await layer.group_add(group, channel)
        return channel

    channel = asyncio.run_coroutine_threadsafe(listen(), server_loop).result(5)
    sent_on = set()

    def worker():
        sent_on.add(threading.get_ident())
        for index in range(5):
            events.group_send_soon(group, {"type": "test.message", "index": index})

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(5)

    async def collect():
        return [(await layer.receive(channel))["index"] for _ in range(5)]

    assert asyncio.run_coroutine_threadsafe(collect(), server_loop).result(10) == [0, 1, 2, 3, 4]
    assert events._outbox.qsize() == 0


def test_events_without_a_server_loop_the_send_completes_before_returning():
    from asgiref.sync import async_to_sync

    layer = get_channel_layer()
    group = f"events-test-{uuid.uuid4().hex}"
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    events.group_send_soon(group, {"type": "test.message", "index": 7})
    assert async_to_sync(layer.receive)(channel)["index"] == 7
