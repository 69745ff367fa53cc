"""Durability before broadcast: a process killed with SIGKILL mid-stream loses nothing it acknowledged (SPEC §5.4)."""

import asyncio
import base64
import re

import httpx
import pycrdt
import pytest

from collab.markdown import fragment_to_markdown
from collab.tests.live import assert_contiguous_log, stored_doc, wait_servers_idle
from collab.tests.yclient import HocuspocusClient, YWebsocketClient
from documents.models import Document

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = re.compile(r"<(\d+)>")


def _tokens(markdown: str) -> set[int]:
    return {int(number) for number in TOKEN.findall(markdown)}


def _markdown(doc: pycrdt.Doc) -> str:
    return fragment_to_markdown(doc.get("content", type=pycrdt.XmlFragment))


def test_consumers_durability_sigkill_loses_no_acknowledged_update(
    live_server_factory, second_daphne, steps, team, tokens, live_doc
):
    doomed = live_server_factory()

    async def edit_until_killed():
        writer = steps.keep(await HocuspocusClient.connect(doomed.ws, live_doc.pk, tokens["editor"]))
        watcher = steps.keep(await YWebsocketClient.connect(second_daphne.ws, live_doc.pk, tokens["owner"]))
        for client in (writer, watcher):
            await client.wait_for(lambda c=client: c.synced.is_set())
        await writer.wait_for(lambda: len(writer.statuses) == len(writer.sent))
        first_update = len(writer.sent)  # the i-th update from here on carries token i
        run = writer.fragment.children[1].children[0]
        typed = 0

        async def type_continuously():
            nonlocal typed
            while writer.close_code is None:
                run.insert(len(run), f"<{typed}>")
                typed += 1
                await asyncio.sleep(0.003)

        typist = asyncio.create_task(type_continuously())
        await writer.wait_for(lambda: len(writer.statuses) - first_update >= 40)
        await asyncio.get_running_loop().run_in_executor(None, doomed.kill)  # mid-stream, no shutdown code
        await writer.wait_closed()
        await typist
        acknowledged = writer.statuses[first_update:]
        return set(range(len(acknowledged))), acknowledged, typed, _tokens(_markdown(watcher.doc)), watcher

    acked, statuses, typed, relayed, watcher = steps(edit_until_killed())
    assert statuses == [1] * len(statuses) and len(acked) >= 40
    assert typed >= len(acked)  # later edits may have been in flight when the process died
    survivors = acked | relayed

    # The database holds every acknowledged and every relayed update, in a gap-free log.
    assert_contiguous_log(live_doc.pk)
    assert survivors <= _tokens(_markdown(stored_doc(live_doc.pk)))

    async def served_by(server):
        fresh = steps.keep(await YWebsocketClient.connect(server.ws, live_doc.pk, tokens["viewer"]))
        await fresh.wait_for(lambda: fresh.synced.is_set())
        async with httpx.AsyncClient(base_url=server.http, timeout=10) as http:
            response = await http.get(
                f"/api/v1/documents/{live_doc.pk}/yjs-state", headers={"Authorization": f"Bearer {tokens['viewer']}"}
            )
        state = pycrdt.Doc()
        state.apply_update(base64.b64decode(response.json()["state_b64"]))
        return fresh, state

    # The surviving process serves all of it, to a newcomer and over REST.
    fresh, state = steps(served_by(second_daphne))
    assert survivors <= _tokens(_markdown(fresh.doc)) and survivors <= _tokens(_markdown(state))
    # So does a process started after the crash, reading the database only.
    restarted = live_server_factory()
    late, late_state = steps(served_by(restarted))
    assert survivors <= _tokens(_markdown(late.doc)) and survivors <= _tokens(_markdown(late_state))
    assert _markdown(late.doc) == _markdown(late_state) == _markdown(stored_doc(live_doc.pk))

    async def converge():
        await watcher.wait_for(lambda: watcher.text == late.text == fresh.text)

    steps(converge())

    async def leave():
        for client in steps.clients:
            await client.close()

    steps(leave())
    restarted.stop()
    wait_servers_idle()
    # The last room to close materialized the whole stream into the markdown.
    assert survivors <= _tokens(Document.objects.get(pk=live_doc.pk).content)
