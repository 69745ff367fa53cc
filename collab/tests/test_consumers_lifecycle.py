"""Lifecycle over open sockets: deletion, membership changes, token expiry (SPEC §5.1, §5.6)."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from collab.models import CollabUpdate, Presence
from collab.tests.live import (
    api,
    append_to_block,
    open_both_dialects,
    refusal,
    refused_edits,
    stored_markdown,
    token_issued_at,
    wait_servers_idle,
)
from collab.tests.yclient import HocuspocusSocket, YWebsocketClient
from documents.services.documents import document_create

pytestmark = pytest.mark.django_db(transaction=True)


def test_consumers_lifecycle_deleting_the_document_closes_every_connection(daphne, steps, team, tokens, live_doc):
    other = document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "O", "content": "o"})

    async def scenario():
        yws = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        hp = await hub.open(live_doc.pk, tokens["viewer"])
        kept = await hub.open(other.pk, tokens["viewer"])
        for client in (yws, hp, kept):
            await client.wait_for(lambda c=client: c.synced.is_set())
        async with api(daphne, tokens["owner"]) as http:
            response = await http.delete(f"/documents/{live_doc.pk}")
        code = await yws.wait_closed()
        await hp.wait_for(lambda: hp.close_frames)
        await kept.ping()  # the socket still serves its other document
        return response, code, yws, hp, kept, hub

    response, code, yws, hp, kept, hub = steps(scenario())
    assert response.status_code == 204
    assert code == 4404
    deleted_event = {"type": "document", "action": "deleted", "content_hash": live_doc.content_hash}
    for client in (yws, hp):
        assert client.events_of("document") == [deleted_event]
        assert client.events_of("document.deleted") == [{"type": "document.deleted", "document_id": str(live_doc.pk)}]
    assert hp.close_frames == ["document-deleted"]
    assert hub.socket.close_code is None and kept.events_of("document") == []
    wait_servers_idle()
    assert not Presence.objects.filter(document=live_doc, is_active=True).exists()
    assert Presence.objects.filter(document=other, is_active=True).count() == 1


def test_consumers_lifecycle_removed_member_is_disconnected(daphne, steps, team, tokens, live_doc):
    editor = team.user("editor")

    async def scenario():
        yws = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"]))
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        hp = await hub.open(live_doc.pk, tokens["editor"])
        bystander = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        for client in (yws, hp, bystander):
            await client.wait_for(lambda c=client: c.synced.is_set())
        async with api(daphne, tokens["owner"]) as http:
            response = await http.delete(f"/workspaces/{team.workspace.pk}/members/{editor.pk}")
        code = await yws.wait_closed()
        await hp.wait_for(lambda: hp.close_frames)
        await bystander.wait_for(lambda: bystander.events_of("presence", action="leave"))
        await bystander.ping()
        return response, code, hp, hub, bystander

    response, code, hp, hub, bystander = steps(scenario())
    assert response.status_code == 204
    assert code == 4403
    assert hp.close_frames == ["forbidden"] and hub.socket.close_code is None
    assert bystander.close_code is None
    wait_servers_idle()
    assert not Presence.objects.filter(user=editor, is_active=True).exists()
    # Reconnecting is now refused like any non-member.
    closed, _ = steps(refusal(f"{daphne.ws}/ws/documents/{live_doc.pk}?token={tokens['editor']}"))
    assert closed == 4404


def test_consumers_lifecycle_downgrade_makes_the_socket_read_only(daphne, steps, team, tokens, live_doc):
    editor = team.user("editor")

    async def connect():
        yws, hp = await open_both_dialects(steps, daphne, live_doc.pk, tokens["editor"])
        async with api(daphne, tokens["owner"]) as http:
            response = await http.patch(f"/workspaces/{team.workspace.pk}/members/{editor.pk}", json={"role": "viewer"})
        for client in (yws, hp):
            await client.wait_for(lambda c=client: c.events_of("access"))
        acknowledged = await refused_edits(yws, hp)
        return response, yws, hp, acknowledged

    response, yws, hp, acknowledged = steps(connect())
    assert response.status_code == 200, response.text
    for client in (yws, hp):
        assert client.events_of("access") == [{"type": "access", "role": "viewer", "read_only": True}]
    assert yws.close_code is None and [e["code"] for e in yws.events_of("error")] == ["read_only"]
    assert hp.statuses[acknowledged:] == [0]
    rows = CollabUpdate.objects.filter(user=editor).count()

    async def upgrade():
        async with api(daphne, tokens["owner"]) as http:
            await http.patch(f"/workspaces/{team.workspace.pk}/members/{editor.pk}", json={"role": "editor"})
        await hp.wait_for(lambda: len(hp.events_of("access")) == 2)
        fresh = len(hp.statuses)
        append_to_block(hp, 0, " back")
        await hp.wait_for(lambda: len(hp.statuses) > fresh)
        await yws.wait_for(lambda: " back" in yws.text)

    steps(upgrade())
    assert hp.events_of("access")[-1] == {"type": "access", "role": "editor", "read_only": False}
    assert hp.statuses[-1] == 1
    assert CollabUpdate.objects.filter(user=editor).count() == rows + 1
    assert "refused" not in stored_markdown(live_doc.pk)  # the refused edits stay local to their clients


def test_consumers_lifecycle_idle_socket_outlives_its_token(daphne, steps, team, live_doc):
    """Authorization is kept after the token's exp, and a socket idle for longer than the channel
    layer's 5 s blocking read stays open."""
    editor = team.user("editor")
    lifetime = timedelta(minutes=15)
    token = token_issued_at(editor, timezone.now() - lifetime + timedelta(seconds=2))

    async def scenario():
        client = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, token))
        await client.wait_for(lambda: client.synced.is_set())
        await asyncio.sleep(6)  # the token expires after 2 s; nothing happens on the socket meanwhile
        append_to_block(client, 1, " still mine")
        await client.ping()
        return client

    client = steps(scenario(), timeout=40)
    assert client.close_code is None
    wait_servers_idle()  # y-websocket has no acknowledgement: let the write land
    assert CollabUpdate.objects.filter(user=editor).count() == 1  # the late edit
