"""Real-time side effects of services: channel-layer messages sent after commit (STYLE §4)."""

from __future__ import annotations

import asyncio
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

_server_loop: asyncio.AbstractEventLoop | None = None
_outbox: asyncio.Queue | None = None
_courier: asyncio.Task | None = None


def serve_on(loop: asyncio.AbstractEventLoop) -> None:
    """Called on the server's event loop by the ASGI application: from then on, messages sent from worker
    threads go to an outbox that one task of this loop delivers in order, and the threads do not wait."""
    global _server_loop, _outbox, _courier
    if _server_loop is not loop:
        _outbox = asyncio.Queue()
        _courier = loop.create_task(_deliver(_outbox))
        _server_loop = loop


async def _deliver(outbox: asyncio.Queue) -> None:
    layer = get_channel_layer()
    while True:
        group, message = await outbox.get()
        try:
            await layer.group_send(group, message)
        except Exception as error:
            _report(group, error)


def document_group(document_id) -> str:
    """The group shared by every process's room of a document."""
    return f"doc.{document_id}"


def user_group(user_id) -> str:
    """The group every live socket of a user joins (access changes)."""
    return f"user.{user_id}"


def broadcast_on_commit(group: str, message: dict) -> None:
    """Send to a channel-layer group once the surrounding transaction has committed."""

    transaction.on_commit(lambda: group_send_soon(group, message))


def group_send_soon(group: str, message: dict) -> None:
    """Send to a group now. From a worker thread of a running server the message joins the server loop's
    outbox, delivered in the order sent, and the thread goes on (a write that tells a room does not wait for
    Redis); elsewhere (commands, tests) the send completes before returning. Messages are hints: rooms
    repair from the database and re-check access every 60 s, so a failed send is logged, not raised."""
    loop, outbox = _server_loop, _outbox
    if loop is not None and outbox is not None and loop.is_running() and not _on(loop):
        loop.call_soon_threadsafe(outbox.put_nowait, (group, message))
        return
    try:
        async_to_sync(get_channel_layer().group_send)(group, message)
    except Exception as error:
        _report(group, error)


def _on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _report(group: str, error: BaseException | None) -> None:
    if error is not None:
        logger.error("group_send to %s failed", group, exc_info=error)
