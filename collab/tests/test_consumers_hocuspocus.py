"""The Hocuspocus dialect at /ws/collab: buffering, multiplexing, SyncStatus and CLOSE (SPEC §5.3)."""

import pycrdt
import pytest

from collab import protocol as p
from collab.models import CollabUpdate, Presence
from collab.tests.live import LIVE_TITLE, append_to_block, markdown_of, normalized, stored_markdown
from collab.tests.yclient import HocuspocusSocket, YWebsocketClient
from documents.services.documents import document_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_consumers_hocuspocus_sync_status_1_only_once_the_update_is_stored(daphne, steps, team, tokens, live_doc):
    async def connect():
        client = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        client = await client.open(live_doc.pk, tokens["editor"])
        await client.wait_for(lambda: client.synced.is_set() and client.sent and len(client.statuses) == len(client.sent))
        return client

    client = steps(connect())
    # Its step 2 (nothing new) is acknowledged without being stored: no edit, nothing to relay.
    assert client.statuses == [1] * len(client.sent) and client.edits == []
    assert not CollabUpdate.objects.filter(document=live_doc).exists()

    for word in ("one", "two", "three"):

        async def edit(word=word):
            acknowledged = len(client.statuses)
            append_to_block(client, 1, f" {word}")
            await client.wait_for(lambda: len(client.statuses) > acknowledged)

        steps(edit())
        # Checked while the socket is still open (no compaction yet): the acknowledged update is a row.
        latest = CollabUpdate.objects.filter(document=live_doc).order_by("-seq").first()
        assert bytes(latest.update) == client.sent[-1]
        assert latest.user == team.user("editor")
    assert client.statuses[-3:] == [1, 1, 1]
    assert "First paragraph. one two three" in stored_markdown(live_doc.pk)


def test_consumers_hocuspocus_messages_before_auth_are_buffered_then_processed(daphne, steps, tokens, live_doc):
    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        client = hub.attach(live_doc.pk)
        # Step 1, a ping and an awareness update all travel before the Auth frame.
        await client.send_sync(p.SYNC_STEP1, client.doc.get_state())
        await client.send_event({"type": "ping"})
        await client.send_awareness([(77, 1, '{"user":{"name":"Early"}}')])
        await client.authenticate(tokens["editor"])
        await client.wait_for(lambda: client.synced.is_set() and client.events_of("pong") and client.awareness)
        return client

    client = steps(scenario())
    assert client.auth == [(p.AUTH_AUTHENTICATED, "read-write")]
    assert markdown_of(client) == normalized(live_doc.content)
    assert client.awareness_states()[77] == '{"user":{"name":"Early"}}'


def test_consumers_hocuspocus_messages_before_a_refused_auth_are_discarded(daphne, steps, tokens, live_doc):
    intruder = pycrdt.Doc()
    intruder.get("content", type=pycrdt.XmlFragment).children.append(pycrdt.XmlElement("paragraph", {}, [pycrdt.XmlText("spam")]))

    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        client = hub.attach(live_doc.pk)
        await client.send_sync(p.SYNC_UPDATE, intruder.get_update())
        await client.send_event({"type": "ping"})
        await client.authenticate(tokens["non_member"])
        await client.wait_for(lambda: client.auth)
        # A later, successful Auth on the same socket must not replay the discarded update either.
        await client.authenticate(tokens["editor"])
        await client.send_sync(p.SYNC_STEP1, client.doc.get_state())
        await client.wait_for(lambda: client.synced.is_set())
        await client.ping()
        return client

    client = steps(scenario())
    assert client.auth == [(p.AUTH_PERMISSION_DENIED, "not-found"), (p.AUTH_AUTHENTICATED, "read-write")]
    assert "spam" not in client.text and "spam" not in stored_markdown(live_doc.pk)
    assert client.statuses == [1] * len(client.sent)  # only its own step 2, none for the discarded update
    assert len(client.events_of("pong")) == 1


def test_consumers_hocuspocus_several_documents_on_one_socket(daphne, steps, team, tokens, live_doc):
    other = document_create(
        actor=team.user("owner"), workspace=team.workspace, data={"title": "Other", "content": "Other text\n"}
    )

    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        first = await hub.open(live_doc.pk, tokens["editor"])
        second = await hub.open(other.pk, tokens["viewer"])
        watcher = steps.keep(await YWebsocketClient.connect(daphne.ws, other.pk, tokens["owner"]))
        for client in (first, second, watcher):
            await client.wait_for(lambda c=client: c.synced.is_set())
        append_to_block(first, 1, " (first)")
        append_to_block(watcher, 0, " (watcher)")
        await second.wait_for(lambda: "(watcher)" in second.text)
        await first.wait_for(lambda: first.statuses.count(1) == len(first.sent))
        await first.ping()
        await second.ping()
        return first, second, watcher

    first, second, watcher = steps(scenario())
    assert (first.scope, second.scope) == ("read-write", "readonly")
    assert "(first)" in first.text and "(watcher)" not in first.text
    assert "(first)" not in second.text and second.text == watcher.text
    assert "(first)" in stored_markdown(live_doc.pk) and "(first)" not in stored_markdown(other.pk)
    assert Presence.objects.filter(is_active=True).count() == 3
    assert len(first.events_of("pong")) == len(second.events_of("pong")) == 1


def test_consumers_hocuspocus_client_close_frame_ends_only_that_document(daphne, steps, team, tokens, live_doc):
    other = document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "O", "content": "o"})

    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        leaving = await hub.open(live_doc.pk, tokens["editor"])
        staying = await hub.open(other.pk, tokens["editor"])
        watcher = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        await watcher.wait_for(lambda: watcher.synced.is_set())
        await leaving.wait_for(lambda: leaving.synced.is_set() and staying.synced.is_set())
        await leaving.unload()
        await watcher.wait_for(lambda: watcher.events_of("presence", action="leave"))
        append_to_block(watcher, 1, " after")
        # Barriers: the watcher's update is relayed before its pong; any relay to the hub precedes the hub's pong.
        await watcher.ping()
        await staying.ping()
        return hub, leaving, staying, watcher

    hub, leaving, staying, watcher = steps(scenario())
    leave = watcher.events_of("presence", action="leave")[0]
    assert leave["user"]["id"] == str(team.user("editor").pk) and leave["document_id"] == str(live_doc.pk)
    assert hub.socket.close_code is None
    assert " after" not in leaving.text  # no more updates for an unloaded document
    rows = {row.document_id: row for row in Presence.objects.filter(user=team.user("editor"))}
    assert rows[live_doc.pk].is_active is False and rows[live_doc.pk].disconnected_at is not None
    assert rows[other.pk].is_active is True


def test_consumers_hocuspocus_ping_frame_gets_pong_and_unknown_types_are_ignored(daphne, steps, tokens, live_doc):
    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        client = await hub.open(live_doc.pk, tokens["viewer"])
        await client.wait_for(lambda: client.synced.is_set())
        await client.send_frame(p.HP_PING)
        await client.send_frame(42, b"\x01\x02")
        await client.send_frame(p.HP_BROADCAST_STATELESS, p.var_string("x"))
        await client.wait_for(lambda: client.pongs == 1)
        await client.ping()
        return hub, client

    hub, client = steps(scenario())
    assert hub.socket.close_code is None
    assert [e for e in client.events if e["type"] == "error"] == []
    assert LIVE_TITLE in client.text
