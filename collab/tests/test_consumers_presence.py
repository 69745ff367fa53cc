"""Presence, cursors, pings and awareness over both dialects (SPEC §5.5)."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from collab import protocol as p
from collab.models import Presence
from collab.tests.live import wait_servers_idle
from collab.tests.yclient import HocuspocusClient, HocuspocusSocket, YWebsocketClient
from documents.services.documents import document_create
from workspaces.tests.helpers import client_for, user_summary

pytestmark = pytest.mark.django_db(transaction=True)

# The SPEC's limits (§5.4, §5.5, §1.4), written out rather than imported from the code under test.
AWARENESS_STATE_MAX_BYTES = 16 * 1024
CONNECTIONS_PER_DOCUMENT = 100
CONNECTIONS_PER_USER = 20
PRESENCE_TTL = timedelta(minutes=5)


def _summary_with_device(user, device):
    return {**user_summary(user), "device_type": device}


def test_consumers_presence_list_join_and_leave_once_per_user(daphne, steps, team, tokens, live_doc):
    owner, editor = team.user("owner"), team.user("editor")

    async def first_connections():
        watcher = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        await watcher.wait_for(lambda: watcher.events_of("presence_list"))
        tab1 = steps.keep(
            await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"], Origin="http://localhost:5173")
        )
        await watcher.wait_for(lambda: watcher.events_of("presence", action="join"))
        await tab1.wait_for(lambda: tab1.events_of("presence_list"))
        # A second connection of the same user (another dialect) is no new join.
        tab2 = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await tab2.wait_for(lambda: tab2.events_of("presence_list"))
        await watcher.ping()
        return watcher, tab1, tab2

    watcher, tab1, tab2 = steps(first_connections())
    assert watcher.events_of("presence_list")[0]["users"] == [_summary_with_device(owner, "unknown")]
    assert tab1.events_of("presence_list")[0]["users"] == [
        _summary_with_device(owner, "unknown"), _summary_with_device(editor, "web")
    ]
    listed = tab2.events_of("presence_list")[0]["users"]
    assert [user["id"] for user in listed] == [str(owner.pk), str(editor.pk)]  # one entry per user
    joins = watcher.events_of("presence", action="join")
    assert len(joins) == 1
    assert joins[0]["user"] == user_summary(editor) and joins[0]["document_id"] == str(live_doc.pk)
    assert joins[0]["timestamp"].endswith("Z")
    assert tab1.events_of("presence", action="join") == []  # the joiner is not told about itself
    rows = Presence.objects.filter(document=live_doc, is_active=True)
    assert sorted(rows.values_list("user__display_name", flat=True)) == sorted(
        [owner.display_name, editor.display_name, editor.display_name]
    )
    row = rows.get(user=editor, device_type="web")
    assert row.disconnected_at is None
    assert timedelta(minutes=4) < row.expires_at - timezone.now() <= timedelta(minutes=5)

    async def close_one_then_the_other():
        await tab1.close()
        await tab2.ping()  # the editor is still connected through tab2
        await watcher.ping()
        no_leave_yet = watcher.events_of("presence", action="leave") == []
        await tab2.close()
        await watcher.wait_for(lambda: watcher.events_of("presence", action="leave"))
        return no_leave_yet

    assert steps(close_one_then_the_other()) is True
    leaves = watcher.events_of("presence", action="leave")
    assert len(leaves) == 1 and leaves[0]["user"] == user_summary(editor)
    closed = Presence.objects.filter(user=editor)
    assert closed.count() == 2 and not closed.filter(is_active=True).exists()
    assert not closed.filter(disconnected_at__isnull=True).exists()


def test_consumers_presence_rest_endpoint_lists_connected_users(daphne, steps, team, tokens, live_doc):
    async def connect():
        one = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["viewer"], Origin="tauri://localhost"))
        two = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["commenter"]))
        for client in (one, two):
            await client.wait_for(lambda c=client: c.events_of("presence_list"))
        return one, two

    one, two = steps(connect())
    response = client_for(team.user("editor")).get(f"/api/v1/documents/{live_doc.pk}/presence")
    assert response.status_code == 200
    users = {user["id"]: user for user in response.json()["users"]}
    assert set(users) == {str(team.user("viewer").pk), str(team.user("commenter").pk)}
    viewer = users[str(team.user("viewer").pk)]
    assert {key: viewer[key] for key in ("display_name", "device_type", "is_typing")} == {
        "display_name": team.user("viewer").display_name, "device_type": "desktop", "is_typing": False,
    }
    assert viewer["last_activity_at"].endswith("Z")

    async def leave():
        await one.close()
        await two.close()

    steps(leave())
    # The server handles the closes on its own time (a loaded machine may start after a short quiet spell).
    deadline, body = time.monotonic() + 10, None
    while time.monotonic() < deadline:
        wait_servers_idle()
        body = client_for(team.user("editor")).get(f"/api/v1/documents/{live_doc.pk}/presence").json()
        if body == {"users": []}:
            break
        time.sleep(0.1)
    assert body == {"users": []}


def _rows_of_a_killed_server(document, users: list) -> None:
    """Active rows whose last heartbeat is older than the window (expires_at passed): SIGKILL closed nothing."""
    last_heartbeat = timezone.now() - PRESENCE_TTL - timedelta(minutes=1)
    Presence.objects.bulk_create(
        Presence(user=user, document=document, connection_id=f"killed-{index}", device_type="web",
                 expires_at=last_heartbeat + PRESENCE_TTL)
        for index, user in enumerate(users)
    )
    Presence.objects.filter(connection_id__startswith="killed-").update(
        connected_at=last_heartbeat, last_activity_at=last_heartbeat
    )


def test_consumers_presence_stale_rows_of_a_killed_server_neither_count_nor_show(daphne, steps, team, tokens, live_doc):
    owner, editor, commenter = team.user("owner"), team.user("editor"), team.user("commenter")
    # The editor at its per-user limit, the document at its per-document limit, all of it stale.
    stale = [editor] * CONNECTIONS_PER_USER + [commenter] * (CONNECTIONS_PER_DOCUMENT - CONNECTIONS_PER_USER)
    _rows_of_a_killed_server(live_doc, stale)

    async def connect():
        watcher = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        await watcher.wait_for(lambda: watcher.events_of("presence_list"))
        tab1 = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        tab2 = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        for client in (tab1, tab2):
            await client.wait_for(lambda c=client: c.events_of("presence_list"))
        await watcher.wait_for(lambda: watcher.events_of("presence", action="join"))
        await watcher.ping()
        return watcher, tab1, tab2

    watcher, tab1, tab2 = steps(connect())
    assert tab1.close_code is None and tab2.scope == "read-write"  # accepted at both limits
    assert watcher.events_of("presence_list")[0]["users"] == [_summary_with_device(owner, "unknown")]
    for client in (tab1, tab2):
        assert [user["id"] for user in client.events_of("presence_list")[0]["users"]] == [str(owner.pk), str(editor.pk)]
    # The editor's stale rows did not make its first live connection a second one: one join, announced.
    assert [join["user"]["id"] for join in watcher.events_of("presence", action="join")] == [str(editor.pk)]
    response = client_for(owner).get(f"/api/v1/documents/{live_doc.pk}/presence")
    assert sorted(user["id"] for user in response.json()["users"]) == sorted([str(owner.pk), str(editor.pk)])
    assert Presence.objects.filter(user=editor, is_active=True).count() == CONNECTIONS_PER_USER + 2


@pytest.mark.parametrize("dialect", [YWebsocketClient, HocuspocusClient])
def test_consumers_presence_cursor_relayed_with_the_senders_id(daphne, steps, team, tokens, live_doc, dialect):
    async def scenario():
        sender = steps.keep(await dialect.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        receiver = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        other = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        for client in (sender, receiver, other):
            await client.wait_for(lambda c=client: c.events_of("presence_list"))
        await sender.send_event(
            {"type": "cursor", "position": {"from": 3, "to": 9}, "selection": {"anchor": 3}, "is_typing": True,
             "user_id": "forged"}
        )
        await sender.send_event({"type": "cursor", "position": {"from": 4, "to": 4}})
        for client in (receiver, other):
            await client.wait_for(lambda c=client: len(c.events_of("cursor")) == 2)
        await sender.ping()
        return sender, receiver, other

    sender, receiver, other = steps(scenario())
    viewer_id = str(team.user("viewer").pk)
    expected = [
        {"type": "cursor", "user_id": viewer_id, "position": {"from": 3, "to": 9}, "selection": {"anchor": 3},
         "is_typing": True},
        {"type": "cursor", "user_id": viewer_id, "position": {"from": 4, "to": 4}, "selection": None,
         "is_typing": False},
    ]
    assert receiver.events_of("cursor") == expected and other.events_of("cursor") == expected
    assert sender.events_of("cursor") == [] and sender.events_of("error") == []
    # Cursor moves stay in memory: the presence row is not touched.
    assert Presence.objects.get(user=team.user("viewer")).cursor_position is None


@pytest.mark.parametrize("dialect", [YWebsocketClient, HocuspocusClient])
def test_consumers_presence_ping_and_bad_events(daphne, steps, tokens, live_doc, dialect):
    bad = [
        "{not json",
        "[1, 2]",
        '"ping"',
        json.dumps({"type": "teleport"}),
        json.dumps({"kind": "ping"}),
        json.dumps({"type": "document_update", "content": "x"}),
        json.dumps({"type": "cursor", "position": {"from": 5, "to": 2}}),
        json.dumps({"type": "cursor", "position": {"from": "a", "to": 2}}),
        json.dumps({"type": "cursor"}),
    ]

    async def scenario():
        client = steps.keep(await dialect.connect(daphne.ws, live_doc.pk, tokens["commenter"]))
        watcher = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        await client.wait_for(lambda: client.events_of("presence_list") and watcher.events_of("presence_list"))
        for text in bad:
            await client.send_event(text)
        await client.wait_for(lambda: len(client.events_of("error")) == len(bad))
        await client.ping()
        await watcher.ping()
        return client, watcher

    client, watcher = steps(scenario())
    assert {error["code"] for error in client.events_of("error")} == {"unknown_message"}
    assert client.events_of("pong") == [{"type": "pong"}] and client.close_code is None
    assert watcher.events_of("cursor") == [] and watcher.events_of("error") == []


def _state(name: str, size: int = 0) -> str:
    return json.dumps({"user": {"name": name, "color": "#ff0000"}, "pad": "x" * size})


def test_consumers_presence_awareness_relayed_queried_and_removed(daphne, steps, tokens, live_doc):
    async def scenario():
        alice = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        bob = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        for client in (alice, bob):
            await client.wait_for(lambda c=client: c.synced.is_set())
        await alice.send_awareness([(101, 1, _state("Alice"))])
        await bob.send_awareness([(202, 1, _state("Bob"))])
        # Everyone gets every update, the sender included.
        for client in (alice, bob):
            await client.wait_for(lambda c=client: {101, 202} <= set(c.awareness_states()))
        # A newcomer gets the current states right away; QueryAwareness answers with them again.
        carol = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["commenter"]))
        await carol.wait_for(lambda: {101, 202} <= set(carol.awareness_states()))
        carol.awareness.clear()
        await carol.query_awareness()
        await carol.wait_for(lambda: carol.awareness)
        queried = dict(carol.awareness_states())
        # A renewal with an older clock is ignored; oversize states are dropped, their neighbours kept.
        await alice.send_awareness([(101, 0, _state("Stale"))])
        await bob.send_awareness([(203, 1, _state("Huge", AWARENESS_STATE_MAX_BYTES)), (202, 2, _state("Bob 2"))])
        await carol.wait_for(lambda: carol.awareness_states().get(202) == _state("Bob 2"))
        await alice.ping()
        await bob.ping()
        await carol.ping()
        seen_after_renewals = [dict(client.awareness_states()) for client in (alice, bob, carol)]
        # Closing a connection removes the states it controlled, for everyone left.
        await alice.close()
        await carol.wait_for(lambda: carol.awareness_states().get(101) == "null")
        await bob.wait_for(lambda: bob.awareness_states().get(101) == "null")
        carol.awareness.clear()
        await carol.query_awareness()
        await carol.wait_for(lambda: carol.awareness)
        return queried, seen_after_renewals, dict(carol.awareness_states())

    queried, seen, after_close = steps(scenario())
    assert queried == {101: _state("Alice"), 202: _state("Bob")}
    for states in seen:
        assert states[101] == _state("Alice") and states[202] == _state("Bob 2") and 203 not in states
    assert after_close == {202: _state("Bob 2")}


@pytest.mark.parametrize("dialect", [YWebsocketClient, HocuspocusClient])
def test_consumers_presence_malformed_awareness_is_an_error_and_the_link_stays(daphne, steps, tokens, live_doc, dialect):
    async def scenario():
        client = steps.keep(await dialect.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        await client.wait_for(lambda: client.synced.is_set())
        payloads = [b"\x05\x01", b"\x01\x01\x01\x03abc", b"\x01\x01\x01\x02{}extra"]
        for payload in payloads:
            if dialect is YWebsocketClient:
                await client.send_raw(p.ws_awareness(payload))
            else:
                await client.send_frame(p.HP_AWARENESS, p.var_bytes(payload))
        await client.wait_for(lambda: len(client.events_of("error")) == len(payloads))
        await client.send_awareness([(9, 1, _state("Fine"))])
        await client.wait_for(lambda: 9 in client.awareness_states())
        return client

    client = steps(scenario())
    assert {error["code"] for error in client.events_of("error")} == {"invalid_update"}


def test_consumers_presence_hocuspocus_socket_with_two_documents_has_two_presences(daphne, steps, team, tokens, live_doc):
    other = document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "B", "content": "b"})

    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        one = await hub.open(live_doc.pk, tokens["editor"])
        two = await hub.open(other.pk, tokens["editor"])
        for client in (one, two):
            await client.wait_for(lambda c=client: c.events_of("presence_list"))
        return hub

    steps(scenario())
    rows = Presence.objects.filter(user=team.user("editor"), is_active=True)
    assert sorted(str(row.document_id) for row in rows) == sorted([str(live_doc.pk), str(other.pk)])
    assert len({row.connection_id for row in rows}) == 2
