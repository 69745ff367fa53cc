"""Permission overrides on sockets (SPEC §2.2, §5.1): an editor whose `can_edit_documents` is revoked is read-only.

Revoked before connecting, both dialects connect read-only (Hocuspocus scope `readonly`, y-websocket edits
refused with `read_only`); revoked while connected, the open sockets turn read-only at once; lifting the
override makes them writable again. Nothing a refused edit carried is stored or relayed.
"""

import pytest

from collab.models import CollabUpdate
from collab.tests.live import api, append_to_block, open_both_dialects, refused_edits, stored_markdown
from collab.tests.yclient import YWebsocketClient
from workspaces.models import WorkspaceMember

pytestmark = pytest.mark.django_db(transaction=True)


def _members_url(team, actor: str) -> str:
    return f"/workspaces/{team.workspace.pk}/members/{team.user(actor).pk}"


def test_consumers_overrides_revoked_edit_connects_read_only(daphne, steps, team, tokens, live_doc):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("editor")).update(
        permissions={"can_edit_documents": False}
    )

    async def scenario():
        watcher = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["owner"]))
        yws, hp = await open_both_dialects(steps, daphne, live_doc.pk, tokens["editor"])
        await watcher.wait_for(lambda: watcher.synced.is_set())
        acknowledged = await refused_edits(yws, hp)
        await watcher.ping()  # anything relayed would have arrived before this pong
        return watcher, yws, hp, acknowledged

    watcher, yws, hp, acknowledged = steps(scenario())
    assert hp.scope == "readonly"
    assert hp.statuses[acknowledged:] == [0]
    assert [error["code"] for error in yws.events_of("error")] == ["read_only"]
    assert yws.close_code is None
    assert "refused" not in watcher.text
    assert not CollabUpdate.objects.filter(user=team.user("editor")).exists()
    assert "refused" not in stored_markdown(live_doc.pk)


def test_consumers_overrides_revoking_edit_while_connected_makes_sockets_read_only(
    daphne, steps, team, tokens, live_doc
):
    editor = team.user("editor")

    async def revoke():
        yws, hp = await open_both_dialects(steps, daphne, live_doc.pk, tokens["editor"])
        assert hp.scope == "read-write"
        async with api(daphne, tokens["owner"]) as http:
            response = await http.patch(
                _members_url(team, "editor"), json={"permissions": {"can_edit_documents": False}}
            )
        for client in (yws, hp):
            await client.wait_for(lambda c=client: c.events_of("access"))
        acknowledged = await refused_edits(yws, hp)
        return response, yws, hp, acknowledged

    response, yws, hp, acknowledged = steps(revoke())
    assert response.status_code == 200, response.text
    for client in (yws, hp):
        # Still an editor by role; the override alone takes the socket's writing away.
        assert client.events_of("access") == [{"type": "access", "role": "editor", "read_only": True}]
    assert [error["code"] for error in yws.events_of("error")] == ["read_only"]
    assert hp.statuses[acknowledged:] == [0]
    assert not CollabUpdate.objects.filter(user=editor).exists()

    async def lift():
        async with api(daphne, tokens["owner"]) as http:
            await http.patch(_members_url(team, "editor"), json={"permissions": {"can_edit_documents": None}})
        await hp.wait_for(lambda: len(hp.events_of("access")) == 2)
        fresh = len(hp.statuses)
        append_to_block(hp, 0, " back")
        await hp.wait_for(lambda: len(hp.statuses) > fresh)
        await yws.wait_for(lambda: " back" in yws.text)

    steps(lift())
    assert hp.events_of("access")[-1] == {"type": "access", "role": "editor", "read_only": False}
    assert hp.statuses[-1] == 1
    assert CollabUpdate.objects.filter(user=editor).count() == 1
    assert "refused" not in stored_markdown(live_doc.pk)
