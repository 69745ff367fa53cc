"""A client that connects, syncs and leaves without editing stores nothing (SPEC §5.4: only edits are updates)."""

import pycrdt
import pytest

from collab import store
from collab.models import CollabState, CollabUpdate
from collab.tests.live import stored_doc, wait_servers_idle
from collab.tests.yclient import HocuspocusClient, YWebsocketClient

pytestmark = pytest.mark.django_db(transaction=True)


def _history_with_deletions(document_id, user) -> None:
    """Inserts and deletions, compacted into the state: its delete set is what an idle client's step 2 repeats."""
    store.ensure_state(document_id)
    for edit in ("insert", "delete", "delete-block"):
        doc = stored_doc(document_id)
        before = doc.get_state()
        fragment = doc.get("content", type=pycrdt.XmlFragment)
        run = fragment.children[1].children[0]
        if edit == "insert":
            run.insert(len(run), " and more")
        elif edit == "delete":
            del run[0:6]
        else:
            del fragment.children[2]
        store.append_updates(document_id, [(doc.get_update(before), user.pk)])
    store.compact(document_id)
    CollabState.objects.filter(document_id=document_id).update(materialized_seq=3)


def _log_position(document_id) -> tuple:
    record = CollabState.objects.get(document_id=document_id)
    return record.state_seq, record.last_seq, CollabUpdate.objects.filter(document_id=document_id).count()


@pytest.mark.parametrize("dialect", [YWebsocketClient, HocuspocusClient])
@pytest.mark.parametrize("history", ["fresh", "with_deletions"])
def test_consumers_no_edit_connect_sync_disconnect_stores_no_update(
    daphne, steps, team, tokens, live_doc, dialect, history
):
    if history == "with_deletions":
        _history_with_deletions(live_doc.pk, team.user("owner"))
    else:
        store.ensure_state(live_doc.pk)
    before = _log_position(live_doc.pk)
    kept = stored_doc(live_doc.pk).get_update()

    async def visit():
        # A new client, then one that kept the document from an earlier session: its step 2 repeats
        # every deletion the room already has.
        clients = []
        for state in (None, kept):
            client = steps.keep(await dialect.connect(daphne.ws, live_doc.pk, tokens["editor"], state=state))
            await client.wait_for(lambda c=client: c.synced.is_set() and c.sent)
            if dialect is HocuspocusClient:
                await client.wait_for(lambda c=client: len(c.statuses) == len(c.sent))
            await client.ping()
            await client.close()
            clients.append(client)
        return clients

    new_client, returning = steps(visit())
    wait_servers_idle()
    assert _log_position(live_doc.pk) == before
    if history == "with_deletions":  # the returning client's step 2 did carry the room's delete set
        assert any(len(update) > 2 for update in returning.sent)
    for client in (new_client, returning):
        assert client.sent and all(update.startswith(b"\x00") for update in client.sent)  # no item, no edit
        assert client.events_of("error") == []
        assert client.statuses == [1] * len(client.statuses)  # Hocuspocus: every step 2 acknowledged as durable
