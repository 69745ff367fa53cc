"""y-websocket at /ws/documents/{id}: real pycrdt clients against a live daphne."""

import asyncio

import pycrdt
import pytest

from accounts.services.sessions import ClientInfo, session_start
from accounts.tests.factories import UserFactory
from collab.models import CollabState, CollabUpdate
from collab.tests.yclient import YWebsocketClient
from documents.models import Document
from documents.services.documents import document_create
from workspaces.models import WorkspaceMember
from workspaces.roles import Role
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shared_doc():
    owner, editor, viewer = UserFactory(), UserFactory(), UserFactory()
    workspace = workspace_create(owner=owner, name="Live")
    WorkspaceMember.objects.create(workspace=workspace, user=editor, role=Role.EDITOR)
    WorkspaceMember.objects.create(workspace=workspace, user=viewer, role=Role.VIEWER)
    document = document_create(actor=owner, workspace=workspace, data={"title": "Doc", "content": "# Title\n\nHello"})
    tokens = {name: session_start(user=u, client=ClientInfo()).access_token
              for name, u in (("owner", owner), ("editor", editor), ("viewer", viewer))}
    return document, tokens


def _text(client) -> str:
    return str(client.fragment)


def test_consumers_ywebsocket_two_clients_converge_and_updates_are_durable(daphne, shared_doc):
    document, tokens = shared_doc

    async def scenario():
        first = await YWebsocketClient.connect(daphne.ws, document.pk, tokens["owner"])
        second = await YWebsocketClient.connect(daphne.ws, document.pk, tokens["editor"])
        await first.wait_for(lambda: "Hello" in _text(first))
        await second.wait_for(lambda: "Hello" in _text(second))
        paragraph = first.fragment.children[1]
        text = paragraph.children[0]
        text.insert(len(str(text)), " world")
        await second.wait_for(lambda: "Hello world" in _text(second))
        await first.close()
        await second.close()
        return _text(second)

    result = asyncio.run(scenario())
    assert "Hello world" in result
    assert CollabState.objects.filter(document=document).exists()
    stored = CollabState.objects.get(document=document)
    doc = pycrdt.Doc()
    if stored.state:
        doc.apply_update(bytes(stored.state))
    for update in CollabUpdate.objects.filter(document=document).order_by("seq").values_list("update", flat=True):
        doc.apply_update(bytes(update))
    assert "Hello world" in str(doc.get("content", type=pycrdt.XmlFragment))


def test_consumers_ywebsocket_materializes_live_edits_to_markdown(daphne, shared_doc):
    document, tokens = shared_doc

    async def scenario():
        client = await YWebsocketClient.connect(daphne.ws, document.pk, tokens["owner"])
        await client.wait_for(lambda: "Hello" in _text(client))
        text = client.fragment.children[1].children[0]
        text.insert(0, "Oh, ")
        await asyncio.sleep(0.3)
        await client.close()

    asyncio.run(scenario())
    deadline_document = None
    for _ in range(100):
        deadline_document = Document.objects.get(pk=document.pk)
        if "Oh, Hello" in deadline_document.content:
            break
        import time

        time.sleep(0.1)
    assert deadline_document.content == "# Title\n\nOh, Hello\n" or "Oh, Hello" in deadline_document.content


def test_consumers_ywebsocket_rejects_missing_token_and_non_member(daphne, shared_doc):
    document, _ = shared_doc
    stranger = session_start(user=UserFactory(), client=ClientInfo()).access_token
    import websockets

    async def close_code(query):
        async with websockets.connect(f"{daphne.ws}/ws/documents/{document.pk}{query}") as socket:
            try:
                await asyncio.wait_for(socket.recv(), 5)
                await asyncio.wait_for(socket.recv(), 5)
            except websockets.ConnectionClosed as closed:
                return closed.rcvd.code
        return None

    assert asyncio.run(close_code("")) == 4401
    assert asyncio.run(close_code(f"?token={stranger}")) == 4404
