"""Several clients of both dialects editing one document at once (SPEC §5.4)."""

import asyncio
import random

import pycrdt
import pytest

from collab.markdown import fragment_to_markdown
from collab.models import CollabState, CollabUpdate
from collab.tests.live import (
    append_to_block,
    assert_contiguous_log,
    block_text,
    markdown_of,
    normalized,
    settle,
    stored_doc,
    stored_seqs,
    wait_servers_idle,
)
from collab.tests.yclient import HocuspocusClient, YWebsocketClient

pytestmark = pytest.mark.django_db(transaction=True)


async def _type(client, block: int, word: str, rng: random.Random) -> None:
    """Type `word` letter by letter at random places of one block, yielding between keystrokes."""
    for letter in word:
        run = block_text(client, block)
        run.insert(rng.randrange(len(run) + 1), letter)
        await asyncio.sleep(rng.random() * 0.005)


def test_consumers_convergence_mixed_dialects_editing_at_once(daphne, steps, tokens, live_doc):
    rng = random.Random(7)

    async def scenario():
        clients = [
            steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"])),
            steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["admin"])),
            steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"])),
            steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"])),
        ]
        for client in clients:
            await client.wait_for(lambda c=client: c.synced.is_set())
        # Everyone types at once, two of them in the same paragraph.
        await asyncio.gather(
            _type(clients[0], 1, "ABCDEFGH", rng),
            _type(clients[1], 1, "abcdefgh", rng),
            _type(clients[2], 2, "12345678", rng),
            _type(clients[3], 0, "xyz", rng),
        )
        append_to_block(clients[2], 2, " tail")
        await settle(*clients)
        for client in clients:
            await client.ping()
        return clients

    clients = steps(scenario())
    expected = markdown_of(clients[0])
    for letters in ("ABCDEFGH", "abcdefgh", "12345678", "xyz", " tail"):
        # Every keystroke of every client made it, wherever it landed.
        assert sum(expected.count(letter) for letter in letters) >= len(letters)
    assert all(markdown_of(client) == expected for client in clients)
    # The database holds exactly what the clients converged to, as contiguous update rows after the state.
    record = assert_contiguous_log(live_doc.pk)
    assert record.state_seq == 0 and record.last_seq == CollabUpdate.objects.filter(document=live_doc).count()
    stored = stored_doc(live_doc.pk)
    assert fragment_to_markdown(stored.get("content", type=pycrdt.XmlFragment)) == expected
    edits = sum(len(client.edits) for client in clients)
    assert record.last_seq == edits  # every edit any client sent was accepted and stored once


def test_consumers_convergence_newcomer_gets_the_full_state(daphne, steps, tokens, live_doc):
    async def edit():
        writer = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await writer.wait_for(lambda: writer.synced.is_set())
        for index in range(5):
            append_to_block(writer, 1, f" w{index}")
        await writer.wait_for(lambda: len(writer.statuses) == len(writer.sent))
        return writer

    writer = steps(edit())
    # Late joiners of both dialects, while the room is open and after it closed (state from the database).
    for dialect in (YWebsocketClient, HocuspocusClient):

        async def join(dialect=dialect):
            newcomer = steps.keep(await dialect.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
            await newcomer.wait_for(lambda: newcomer.synced.is_set())
            await newcomer.wait_for(lambda: newcomer.text == writer.text)
            return newcomer

        newcomer = steps(join())
        assert "w0 w1 w2 w3 w4" in markdown_of(newcomer)

    async def close_all():
        for client in steps.clients:
            await client.close()

    steps(close_all())
    wait_servers_idle()
    # The room closed with its last connection and compacted the log into the state.
    record = CollabState.objects.get(document=live_doc)
    assert record.state_seq == record.last_seq > 0 and stored_seqs(live_doc.pk) == []

    async def after_close():
        late = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["commenter"]))
        await late.wait_for(lambda: late.synced.is_set())
        return late

    late = steps(after_close())
    assert late.text == writer.text and markdown_of(late) != ""
    assert markdown_of(late) == normalized(live_doc.content).replace(
        "First paragraph.", "First paragraph. w0 w1 w2 w3 w4"
    )


def test_consumers_convergence_client_step2_with_offline_edits_is_merged(daphne, steps, tokens, live_doc):
    """A client that edited while disconnected sends its edits as step 2 on reconnect; they are kept."""

    async def first_session():
        client = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await client.wait_for(lambda: client.synced.is_set())
        await client.ping()
        await client.close()
        return client

    offline = steps(first_session())
    offline_doc = pycrdt.Doc()
    offline_doc.apply_update(offline.doc.get_update())
    run = offline_doc.get("content", type=pycrdt.XmlFragment).children[2].children[0]
    run.insert(len(run), " (offline)")

    async def reconnect():
        client = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        client.apply_remote(offline_doc.get_update())  # the provider's local state before it syncs
        other = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        await other.wait_for(lambda: "(offline)" in other.text)
        return client, other

    client, other = steps(reconnect())
    assert "Second paragraph. (offline)" in markdown_of(other)
