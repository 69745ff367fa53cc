"""Viewers and commenters: they read and send awareness, their updates are refused (SPEC §5.4, §2.3)."""

import pytest

from collab.models import CollabUpdate
from collab.tests.live import append_to_block, block_text, markdown_of, normalized, stored_markdown
from collab.tests.yclient import HocuspocusClient, YWebsocketClient

pytestmark = pytest.mark.django_db(transaction=True)


def _log(document):
    return list(CollabUpdate.objects.filter(document=document).order_by("seq").values_list("seq", "update"))


@pytest.mark.parametrize("reader", ["viewer", "commenter"])
def test_consumers_read_only_ywebsocket_updates_refused_not_stored_not_relayed(
    daphne, steps, team, tokens, live_doc, reader
):
    async def connect():
        editor = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        client = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens[reader]))
        for each in (editor, client):
            await each.wait_for(lambda c=each: c.synced.is_set())
        await client.ping()
        await editor.wait_for(lambda: len(editor.statuses) == len(editor.sent))
        return editor, client

    editor, client = steps(connect())
    # The reader's own step 2 (nothing new) was no edit: no error for it.
    assert client.events_of("error") == []
    before, shown = _log(live_doc), editor.text

    async def try_to_edit():
        append_to_block(client, 1, " nope")
        append_to_block(client, 2, " again")
        await client.wait_for(lambda: client.events_of("error"))
        await client.ping()  # both updates were handled before the pong
        await editor.ping()  # anything relayed to the editor would have arrived before this pong
        await client.send_awareness([(client.doc.client_id, 1, '{"user":{"name":"Reader"}}')])
        await editor.wait_for(lambda: client.doc.client_id in editor.awareness_states())

    steps(try_to_edit())
    errors = client.events_of("error")
    assert [error["code"] for error in errors] == ["read_only"]  # one error for two refused updates (5 s limit)
    assert errors[0]["detail"]
    assert _log(live_doc) == before and editor.text == shown
    assert not CollabUpdate.objects.filter(user=team.user(reader)).exists()
    assert "nope" not in stored_markdown(live_doc.pk)
    assert editor.awareness_states()[client.doc.client_id] == '{"user":{"name":"Reader"}}'


@pytest.mark.parametrize("reader", ["viewer", "commenter"])
def test_consumers_read_only_hocuspocus_sync_status_0(daphne, steps, team, tokens, live_doc, reader):
    async def scenario():
        editor = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        client = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens[reader]))
        for each in (editor, client):
            await each.wait_for(lambda c=each: c.synced.is_set())
        await client.wait_for(lambda: len(client.statuses) == len(client.sent))
        synced = list(client.statuses)
        append_to_block(client, 1, " one")
        append_to_block(client, 1, " two")
        append_to_block(client, 1, " three")
        await client.wait_for(lambda: len(client.statuses) == len(synced) + 3)
        await editor.ping()
        return editor, client, synced

    editor, client, synced = steps(scenario())
    assert client.scope == "readonly"
    assert synced == [1] * len(synced)  # nothing new in its step 2: acknowledged
    assert client.statuses[len(synced) :] == [0, 0, 0]
    assert [error["code"] for error in client.events_of("error")] == ["read_only"]
    assert "one" not in editor.text
    assert not CollabUpdate.objects.filter(user=team.user(reader)).exists()
    assert stored_markdown(live_doc.pk) == normalized(live_doc.content)


def test_consumers_read_only_deletion_only_update_is_refused(daphne, steps, team, tokens, live_doc):
    """A deletion carries no new clock in its state vector; it is still an edit and must be refused."""

    async def scenario():
        client = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        await client.wait_for(lambda: client.synced.is_set() and len(client.statuses) == len(client.sent))
        acknowledged = len(client.statuses)
        run = block_text(client, 2)
        del run[0:7]  # "Second " removed: a deletion-only update
        await client.wait_for(lambda: len(client.statuses) == acknowledged + 1)
        watcher = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await watcher.wait_for(lambda: watcher.synced.is_set())
        return client, watcher

    client, watcher = steps(scenario())
    assert client.statuses[-1] == 0
    assert "Second paragraph." in markdown_of(watcher)
    assert "Second paragraph." in stored_markdown(live_doc.pk)
    assert not CollabUpdate.objects.filter(user=team.user("viewer")).exists()


def test_consumers_read_only_reader_still_receives_live_edits(daphne, steps, tokens, live_doc):
    async def scenario():
        reader = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        writer = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await writer.wait_for(lambda: writer.synced.is_set() and reader.synced.is_set())
        append_to_block(writer, 0, " live")
        await reader.wait_for(lambda: " live" in markdown_of(reader))
        return reader

    reader = steps(scenario())
    assert markdown_of(reader).startswith("# Title live\n")
