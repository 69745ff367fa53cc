"""Mindmap and presentation documents: sockets for presence, awareness and events only (SPEC §5.4)."""

import json

import pycrdt
import pytest

from collab.models import CollabState, CollabUpdate
from collab.tests.yclient import HocuspocusClient, YWebsocketClient
from documents.services.documents import document_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    ("kind", "content"), [("mindmap", '{"nodes": [], "edges": []}'), ("presentation", '{"slides": []}')]
)
def test_consumers_mindmap_no_live_state_but_presence_and_awareness(daphne, steps, team, tokens, kind, content):
    document = document_create(
        actor=team.user("owner"), workspace=team.workspace, data={"title": "M", "type": kind, "content": content}
    )
    update = pycrdt.Doc()
    update.get("content", type=pycrdt.XmlFragment).children.append(pycrdt.XmlElement("paragraph"))

    async def scenario():
        yws = steps.keep(await YWebsocketClient.connect(daphne.ws, document.pk, tokens["editor"]))
        hp = steps.keep(await HocuspocusClient.connect(daphne.ws, document.pk, tokens["owner"]))
        await yws.wait_for(lambda: yws.events_of("presence_list") and hp.events_of("presence_list"))
        await hp.wait_for(lambda: hp.auth)
        await yws.send_sync(0, pycrdt.Doc().get_state())  # a step 1: nothing to answer with
        await yws.send_update(update.get_update())
        await hp.send_update(update.get_update())
        await yws.send_awareness([(5, 1, json.dumps({"user": {"name": "Y"}}))])
        await hp.wait_for(lambda: 5 in hp.awareness_states() and hp.statuses)
        await yws.wait_for(lambda: yws.events_of("error"))
        await yws.ping()
        return yws, hp

    yws, hp = steps(scenario())
    assert hp.auth == [(2, "read-write")]
    assert not yws.synced.is_set() and not hp.synced.is_set()  # no sync answers at all
    assert [e["code"] for e in yws.events_of("error")] == ["unsupported_document_type"]
    assert hp.statuses == [0] and [e["code"] for e in hp.events_of("error")] == ["unsupported_document_type"]
    assert yws.events_of("presence", action="join")[0]["user"]["id"] == str(team.user("owner").pk)
    assert not CollabState.objects.exists() and not CollabUpdate.objects.exists()
