"""Two daphne processes sharing PostgreSQL and Redis serve one document (SPEC §5.4 "Several processes")."""

import asyncio
import json

import pycrdt
import pytest

from collab import store
from collab.tests.live import append_to_block, markdown_of, settle, stored_markdown, wait_servers_idle
from collab.tests.yclient import HocuspocusClient, YWebsocketClient

pytestmark = pytest.mark.django_db(transaction=True)


def _state(name: str) -> str:
    return json.dumps({"user": {"name": name, "color": "#00ff00"}})


def test_consumers_processes_clients_on_two_processes_converge(daphne, second_daphne, steps, team, tokens, live_doc):
    async def scenario():
        one = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        two = steps.keep(await YWebsocketClient.connect(second_daphne.ws, live_doc.pk, tokens["owner"]))
        three = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["admin"]))
        for client in (one, two, three):
            await client.wait_for(lambda c=client: c.synced.is_set())
        for index in range(5):
            append_to_block(one, 1, f" a{index}")
            append_to_block(two, 2, f" b{index}")
        append_to_block(three, 0, " c")
        await settle(one, two, three)
        # A newcomer on the second process gets everything, edits from the first included.
        late = steps.keep(await HocuspocusClient.connect(second_daphne.ws, live_doc.pk, tokens["viewer"]))
        await late.wait_for(lambda: late.text == one.text)
        await one.wait_for(lambda: len(one.statuses) == len(one.sent))
        return one, two, late

    one, two, late = steps(scenario())
    expected = "# Title c\n\nFirst paragraph. a0 a1 a2 a3 a4\n\nSecond paragraph. b0 b1 b2 b3 b4\n"
    assert markdown_of(one) == markdown_of(two) == markdown_of(late) == expected
    wait_servers_idle()
    assert stored_markdown(live_doc.pk) == expected


def test_consumers_processes_presence_awareness_and_cursors_cross(daphne, second_daphne, steps, team, tokens, live_doc):
    async def scenario():
        here = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await here.wait_for(lambda: here.synced.is_set())
        await here.send_awareness([(11, 1, _state("Here"))])
        await here.wait_for(lambda: 11 in here.awareness_states())
        there = steps.keep(await YWebsocketClient.connect(second_daphne.ws, live_doc.pk, tokens["viewer"]))
        await there.wait_for(lambda: there.events_of("presence_list"))
        await here.wait_for(lambda: here.events_of("presence", action="join"))
        # The awareness of a client on the other process is known to the newcomer's process too.
        await there.wait_for(lambda: 11 in there.awareness_states())
        there.awareness.clear()
        await there.query_awareness()
        await there.wait_for(lambda: there.awareness)
        queried = dict(there.awareness_states())
        await there.send_awareness([(22, 1, _state("There"))])
        await here.wait_for(lambda: here.awareness_states().get(22) == _state("There"))
        await there.send_event({"type": "cursor", "position": {"from": 1, "to": 2}})
        await here.wait_for(lambda: here.events_of("cursor"))
        await here.close()
        await there.wait_for(lambda: there.awareness_states().get(11) == "null")
        await there.wait_for(lambda: there.events_of("presence", action="leave"))
        return here, there, queried

    here, there, queried = steps(scenario())
    assert [user["id"] for user in there.events_of("presence_list")[0]["users"]] == [
        str(team.user("editor").pk), str(team.user("viewer").pk)
    ]
    assert here.events_of("presence", action="join")[0]["user"]["id"] == str(team.user("viewer").pk)
    assert there.events_of("presence", action="leave")[0]["user"]["id"] == str(team.user("editor").pk)
    assert queried == {11: _state("Here")}
    assert here.events_of("cursor") == [
        {"type": "cursor", "user_id": str(team.user("viewer").pk), "position": {"from": 1, "to": 2},
         "selection": None, "is_typing": False}
    ]


def test_consumers_processes_gap_is_repaired_from_the_database(daphne, second_daphne, steps, team, tokens, live_doc):
    """An update whose channel-layer message was lost (stored, never published) reaches both rooms."""

    async def connect():
        one = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        two = steps.keep(await YWebsocketClient.connect(second_daphne.ws, live_doc.pk, tokens["viewer"]))
        for client in (one, two):
            await client.wait_for(lambda c=client: c.synced.is_set())
        await one.wait_for(lambda: len(one.statuses) == len(one.sent))
        return one, two

    one, two = steps(connect())
    ghost = pycrdt.Doc()
    ghost.apply_update(one.doc.get_update())
    run = ghost.get("content", type=pycrdt.XmlFragment).children[2].children[0]
    before = ghost.get_state()
    run.insert(len(run), " (lost message)")
    store.apply_update(live_doc.pk, ghost.get_update(before), user_id=team.user("owner").pk)

    async def next_edit():
        append_to_block(one, 1, " next")  # its seq follows the lost one: both rooms see the gap
        await one.wait_for(lambda: "(lost message)" in one.text)
        await two.wait_for(lambda: "(lost message)" in two.text and " next" in two.text)

    steps(next_edit())
    assert markdown_of(one) == markdown_of(two)


def test_consumers_processes_a_room_alone_for_a_while_hears_of_a_newcomer_at_once(
    daphne, second_daphne, steps, team, tokens, live_doc
):
    """A room alone in its process publishes nothing; a room opening elsewhere makes both publish again.

    The first room has been alone longer than its start-up grace, its reader sends no awareness;
    edits made on the second process still reach the reader without waiting for a periodic check.
    """
    from collab.rooms import JOIN_GRACE

    async def scenario():
        reader = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        await reader.wait_for(lambda: reader.synced.is_set())
        await asyncio.sleep(JOIN_GRACE + 1)
        writer = steps.keep(await YWebsocketClient.connect(second_daphne.ws, live_doc.pk, tokens["editor"]))
        await writer.wait_for(lambda: writer.synced.is_set())
        await asyncio.sleep(JOIN_GRACE + 1)  # the newcomer's grace is over too: only what it heard counts
        append_to_block(writer, 1, " from the newcomer")
        await reader.wait_for(lambda: "from the newcomer" in reader.text, timeout=3.0)
        return reader, writer

    reader, writer = steps(scenario())
    assert markdown_of(reader) == markdown_of(writer)
