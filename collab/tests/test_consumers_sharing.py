"""Comments, grants and share links as live sockets see them (SPEC §5.5, §5.6, §3.4), against a live daphne."""


import pytest
from asgiref.sync import sync_to_async

from accounts.services.sessions import ClientInfo, session_start
from accounts.tests.factories import UserFactory
from collab.tests.yclient import HocuspocusClient, YWebsocketClient
from documents.services.links import link_create, link_revoke
from documents.services.shares import share_create, share_revoke, share_update
from workspaces.tests.helpers import allow_guests, client_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_consumers_comment_written_over_rest_reaches_both_dialects_not_stock_clients(
    daphne, steps, team, tokens, live_doc
):
    client = client_for(team.user("editor"))

    async def scenario():
        opted_in = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["viewer"]))
        hocuspocus = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, tokens["commenter"]))
        stock = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["admin"], events=False))
        await opted_in.wait_for(lambda: opted_in.events_of("presence_list"))
        await hocuspocus.wait_for(lambda: hocuspocus.events_of("presence_list"))
        await stock.wait_for(lambda: stock.synced.is_set())
        response = await sync_to_async(client.post)(
            f"/api/v1/documents/{live_doc.pk}/comments", {"content": "Live **note**"}, format="json"
        )
        await opted_in.wait_for(lambda: opted_in.events_of("comment"))
        await hocuspocus.wait_for(lambda: hocuspocus.events_of("comment"))
        await stock.sync_round_trip()  # the event was fanned out before; anything sent to the stock socket is in
        return response.json(), opted_in.events_of("comment"), hocuspocus.events_of("comment"), list(stock.events)

    body, seen_yws, seen_hp, stock_events = steps(scenario())
    for events in (seen_yws, seen_hp):
        (event,) = events
        assert event == {"type": "comment", "action": "create", "comment": body, "document_id": str(live_doc.pk)}
    assert stock_events == []


def test_consumers_grantee_socket_follows_its_grant(daphne, steps, team, live_doc):
    guest = UserFactory()
    share = share_create(actor=team.user("owner"), document=live_doc, role="editor", user_id=guest.pk)
    token = session_start(user=guest, client=ClientInfo()).access_token

    async def scenario():
        socket = steps.keep(await HocuspocusClient.connect(daphne.ws, live_doc.pk, token))
        await socket.wait_for(lambda: socket.scope is not None)
        scope = socket.scope
        await sync_to_async(share_update)(share=share, role="viewer")
        await socket.wait_for(lambda: socket.events_of("access"))
        downgraded = socket.events_of("access")[-1]
        await sync_to_async(share_revoke)(share=share)
        await socket.wait_for(lambda: socket.close_frames)
        return scope, downgraded, socket.close_frames[-1]

    scope, downgraded, reason = steps(scenario())
    assert scope == "read-write"
    assert downgraded == {"type": "access", "role": "viewer", "read_only": True}
    assert reason == "forbidden"


def test_consumers_share_link_socket_reads_cannot_write_and_closes_on_revoke(daphne, steps, team, tokens, live_doc):
    allow_guests(live_doc.workspace)
    link, link_token = link_create(actor=team.user("owner"), document=live_doc, mode="comment")
    outsider = tokens["non_member"]

    async def scenario():
        refused = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, outsider))
        reader = steps.keep(
            await YWebsocketClient.connect(daphne.ws, live_doc.pk, outsider, query=f"share_token={link_token}")
        )
        await reader.wait_for(lambda: reader.synced.is_set())
        run = reader.fragment.children[1].children[0]
        run.insert(len(run), " from a link")  # a local edit: the client sends it, the server refuses it
        await reader.wait_for(lambda: reader.events_of("error", code="read_only"))
        await sync_to_async(link_revoke)(link=link)
        await reader.wait_closed()
        await refused.wait_closed()
        return refused.close_code, reader.close_code

    refused_code, revoked_code = steps(scenario())
    assert refused_code == 4404  # without the link the document does not exist for this person
    assert revoked_code == 4403
