"""SIGKILL mid-stream, then the clients come back: over y-websocket (no acknowledgements: what another process
relayed was durable), and a Hocuspocus client resending every update it has no acknowledgement for. Nothing
acknowledged is lost, nothing is applied twice: everyone ends with exactly the writer's document (SPEC §5.4)."""

import asyncio
import re
from collections import Counter

import pycrdt
import pytest

from collab.tests.live import assert_contiguous_log, markdown_of, stored_doc, stored_markdown, wait_servers_idle
from collab.tests.yclient import HocuspocusClient, YWebsocketClient
from documents.models import Document

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = re.compile(r"kiwi(\d+)")


def _tokens(markdown: str) -> Counter:
    return Counter(int(number) for number in TOKEN.findall(markdown))


async def _type_until_killed(writer, server, *, until) -> int:
    """Type one token per update into the third block until `until()` holds, then SIGKILL `server` mid-stream
    and go on typing until the socket is seen closed; how many tokens were typed."""
    run = writer.fragment.children[2].children[0]
    typed = 0

    async def type_continuously():
        nonlocal typed
        while writer.close_code is None:
            run.insert(len(run), f" kiwi{typed}")
            typed += 1
            await asyncio.sleep(0.01)  # within the socket's 50 updates/s

    typist = asyncio.create_task(type_continuously())
    await writer.wait_for(until, 30)
    await asyncio.get_running_loop().run_in_executor(None, server.kill)
    await writer.wait_closed()
    await typist
    return typed


def test_durability_reconnect_ywebsocket_sigkill_then_the_provider_resyncs(
    live_server_factory, second_daphne, steps, team, tokens, live_doc
):
    doomed = live_server_factory()

    async def scenario():
        writer = steps.keep(await YWebsocketClient.connect(doomed.ws, live_doc.pk, tokens["editor"], events=False))
        watcher = steps.keep(await YWebsocketClient.connect(second_daphne.ws, live_doc.pk, tokens["owner"]))
        for client in (writer, watcher):
            await client.wait_for(lambda c=client: c.synced.is_set())
        typed = await _type_until_killed(writer, doomed, until=lambda: len(_tokens(markdown_of(watcher))) >= 30)
        # Relayed to another process means committed first: the watcher's tokens are what was acknowledged.
        relayed = set(_tokens(markdown_of(watcher)))
        return writer, watcher, typed, relayed

    writer, watcher, typed, relayed = steps(scenario())
    assert len(relayed) >= 30 and typed >= len(relayed)
    assert_contiguous_log(live_doc.pk)
    stored = _tokens(stored_markdown(live_doc.pk))
    assert relayed <= set(stored) and set(stored.values()) == {1}

    async def reconnect():
        # A stock WebsocketProvider reconnects with the document it kept; the sync exchange sends what the
        # server lacks (the edits it never stored, and those typed while the socket was down).
        back = steps.keep(await YWebsocketClient.connect(
            second_daphne.ws, live_doc.pk, tokens["editor"], state=writer.doc.get_update(), events=False
        ))
        await back.wait_for(lambda: back.synced.is_set())
        await back.sync_round_trip()
        await watcher.wait_for(lambda: watcher.text == back.text == writer.text, 30)
        return back

    back = steps(reconnect())
    expected = markdown_of(writer)
    assert _tokens(expected) == Counter(range(typed))
    assert markdown_of(back) == markdown_of(watcher) == stored_markdown(live_doc.pk) == expected
    assert str(stored_doc(live_doc.pk).get("content", type=pycrdt.XmlFragment)) == writer.text

    async def leave():
        await back.close()
        await watcher.close()

    steps(leave())
    wait_servers_idle()
    assert Document.objects.get(pk=live_doc.pk).content == expected


def test_durability_reconnect_resent_unacknowledged_updates_are_stored_once(
    live_server_factory, second_daphne, steps, team, tokens, live_doc
):
    doomed = live_server_factory()

    async def scenario():
        writer = steps.keep(await HocuspocusClient.connect(doomed.ws, live_doc.pk, tokens["editor"]))
        await writer.wait_for(lambda: writer.synced.is_set())
        await writer.wait_for(lambda: len(writer.statuses) == len(writer.sent))
        first_update = len(writer.sent)
        typed = await _type_until_killed(writer, doomed, until=lambda: len(writer.statuses) - first_update >= 30)
        return writer, typed, first_update

    writer, typed, first_update = steps(scenario())
    acknowledged = len(writer.statuses)
    assert set(writer.statuses) == {1}
    stored = _tokens(stored_markdown(live_doc.pk))
    assert set(range(acknowledged - first_update)) <= set(stored) and set(stored.values()) == {1}
    # Resent: everything sent after the last acknowledgement (stored or not before the kill) and never sent at
    # all, plus the last five acknowledged ones, as if their acknowledgements had been lost with the socket.
    unacknowledged = writer.sent[acknowledged - 5:]

    async def resend():
        # The same editor, its document kept, on another process: it resends each update it has no
        # acknowledgement for, as they were, then syncs.
        back = steps.keep(await HocuspocusClient.connect(
            second_daphne.ws, live_doc.pk, tokens["editor"], state=writer.doc.get_update()
        ))
        for update in unacknowledged:
            await back.send_update(update)
        await back.wait_for(lambda: back.synced.is_set())
        await back.wait_for(lambda: len(back.statuses) == len(back.sent), 30)
        watcher = steps.keep(await YWebsocketClient.connect(second_daphne.ws, live_doc.pk, tokens["owner"]))
        await watcher.wait_for(lambda: watcher.synced.is_set() and watcher.text == back.text, 30)
        return back, watcher

    back, watcher = steps(resend())
    assert set(back.statuses) == {1}  # every resent update accepted, the ones already stored included
    expected = markdown_of(writer)
    assert _tokens(expected) == Counter(range(typed))  # each token once
    assert markdown_of(back) == markdown_of(watcher) == stored_markdown(live_doc.pk) == expected
    assert back.text == watcher.text == writer.text
    assert_contiguous_log(live_doc.pk)
