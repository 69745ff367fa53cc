"""Connecting to both socket dialects: tokens, access, origins and the answers each gets (SPEC §5.1, §5.3)."""

import uuid

import pytest
from django.utils import timezone

from accounts.tokens import issue_access_token
from collab import protocol as p
from collab.models import Presence
from collab.sessions import presence_open
from collab.tests.live import expired_token, markdown_of, normalized, refusal
from collab.tests.yclient import HocuspocusSocket, YWebsocketClient
from documents.services.documents import document_create, document_delete
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db(transaction=True)

MEMBERS = ("owner", "admin", "editor", "commenter", "viewer")
CONNECTIONS_PER_USER = 20  # SPEC §5.4, written out rather than imported from the code under test
WRITERS = ("owner", "admin", "editor")


def _token(case, team, tokens):
    return {
        "missing": None,
        "garbage": "not-a-token",
        "expired": expired_token(team.user("editor")),
        # correctly signed, but its `sid` names no refresh family (decision 41)
        "made_up_session": issue_access_token(user_id=team.user("editor").pk, session_id=uuid.uuid4(), now=timezone.now())[0],
        "non_member": tokens["non_member"],
    }[case]


@pytest.mark.parametrize(
    ("case", "code"),
    [("missing", 4401), ("garbage", 4401), ("expired", 4401), ("made_up_session", 4401), ("non_member", 4404)],
)
def test_consumers_auth_ywebsocket_token_refused(daphne, steps, team, tokens, live_doc, case, code):
    token = _token(case, team, tokens)
    query = f"?token={token}" if token else ""
    closed, frames = steps(refusal(f"{daphne.ws}/ws/documents/{live_doc.pk}{query}"))
    assert closed == code
    assert frames == []  # nothing about the document leaks before the close
    assert not Presence.objects.exists()


@pytest.mark.parametrize("case", ["unknown", "malformed", "deleted", "other_workspace"])
def test_consumers_auth_ywebsocket_invisible_document_is_4404(daphne, steps, team, tokens, live_doc, case):
    if case == "deleted":
        document_delete(actor=team.user("owner"), document=live_doc)
        target = live_doc.pk
    elif case == "unknown":
        target = uuid.uuid4()
    elif case == "malformed":
        target = "not-a-uuid"
    else:
        stranger = team.user("non_member")
        elsewhere = workspace_create(owner=stranger, name="Elsewhere")
        target = document_create(actor=stranger, workspace=elsewhere, data={"title": "Hidden", "content": "x"}).pk
    closed, frames = steps(refusal(f"{daphne.ws}/ws/documents/{target}?token={tokens['owner']}"))
    assert (closed, frames) == (4404, [])
    assert not Presence.objects.exists()


@pytest.mark.parametrize("actor", MEMBERS)
def test_consumers_auth_ywebsocket_every_member_is_served(daphne, steps, team, tokens, live_doc, actor):
    async def scenario():
        client = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens[actor]))
        await client.wait_for(lambda: client.synced.is_set() and client.events_of("presence_list"))
        return client

    client = steps(scenario())
    assert client.close_code is None
    assert markdown_of(client) == normalized(live_doc.content)
    row = Presence.objects.get(document=live_doc)
    assert (row.user, row.is_active, row.device_type) == (team.user(actor), True, "unknown")


@pytest.mark.parametrize(
    ("origin", "device"),
    [("http://localhost:5173", "web"), ("tauri://localhost", "desktop"), ("http://tauri.localhost", "desktop")],
)
def test_consumers_auth_allowed_origins_are_accepted(daphne, steps, tokens, live_doc, origin, device):
    async def scenario():
        client = steps.keep(await YWebsocketClient.connect(daphne.ws, live_doc.pk, tokens["editor"], Origin=origin))
        await client.wait_for(lambda: client.events_of("presence_list"))
        return client

    client = steps(scenario())
    assert client.close_code is None
    assert client.events_of("presence_list")[0]["users"][0]["device_type"] == device


def test_consumers_auth_foreign_origin_is_4403_on_both_dialects(daphne, steps, tokens, live_doc):
    evil = {"Origin": "https://evil.example"}
    closed, frames = steps(refusal(f"{daphne.ws}/ws/documents/{live_doc.pk}?token={tokens['owner']}", **evil))
    assert (closed, frames) == (4403, [])
    closed, frames = steps(refusal(f"{daphne.ws}/ws/collab?token={tokens['owner']}", **evil))
    assert (closed, frames) == (4403, [])
    assert not Presence.objects.exists()


@pytest.mark.parametrize("actor", MEMBERS)
def test_consumers_auth_hocuspocus_scope_follows_role(daphne, steps, tokens, live_doc, actor):
    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        client = await hub.open(live_doc.pk, tokens[actor])
        await client.wait_for(lambda: client.auth and client.synced.is_set())
        return client

    client = steps(scenario())
    assert client.auth == [(p.AUTH_AUTHENTICATED, "read-write" if actor in WRITERS else "readonly")]
    assert markdown_of(client) == normalized(live_doc.content)


def test_consumers_auth_hocuspocus_denials_keep_the_socket_open(daphne, steps, team, tokens, live_doc):
    stranger = team.user("non_member")
    hidden = document_create(
        actor=stranger, workspace=workspace_create(owner=stranger, name="Other"), data={"title": "H", "content": "x"}
    )
    trashed = document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "T", "content": "y"})
    document_delete(actor=team.user("owner"), document=trashed)
    cases = [
        (live_doc.pk, "", "unauthorized"),
        (live_doc.pk, "garbage", "unauthorized"),
        (live_doc.pk, expired_token(team.user("owner")), "unauthorized"),
        (live_doc.pk, tokens["non_member"], "not-found"),
        (uuid.uuid4(), tokens["owner"], "not-found"),
        ("not-a-uuid", tokens["owner"], "not-found"),
        (trashed.pk, tokens["owner"], "not-found"),
        (hidden.pk, tokens["owner"], "not-found"),
    ]

    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        denied = []
        for document_id, token, _ in cases:
            client = await hub.open(document_id, token)
            await client.wait_for(lambda c=client: c.auth)
            denied.append(client)
        # The same socket then opens a document the caller may read; frames are answered in order, so
        # anything the refused documents could have received would have arrived before this sync.
        good = await hub.open(live_doc.pk, tokens["viewer"])
        await good.wait_for(lambda: good.synced.is_set())
        return denied, good, hub

    denied, good, hub = steps(scenario())
    assert [client.auth for client in denied] == [[(p.AUTH_PERMISSION_DENIED, reason)] for *_, reason in cases]
    assert all(client.text == "" and client.events == [] for client in denied)
    assert good.scope == "readonly" and markdown_of(good) == normalized(live_doc.content)
    assert hub.socket.close_code is None
    assert list(Presence.objects.values_list("user__email", flat=True)) == [team.user("viewer").email]


@pytest.mark.parametrize("query", ["token", "share_token_ignored_token_used"])
def test_consumers_auth_hocuspocus_empty_token_falls_back_to_the_url(daphne, steps, tokens, live_doc, query):
    url_query = f"?token={tokens['editor']}" if query == "token" else f"?share_token=x&token={tokens['editor']}"

    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws, query=url_query))
        client = await hub.open(live_doc.pk, "")
        await client.wait_for(lambda: client.auth and client.synced.is_set())
        return client

    client = steps(scenario())
    assert client.auth == [(p.AUTH_AUTHENTICATED, "read-write")]


def test_consumers_auth_hocuspocus_empty_token_without_url_token_is_unauthorized(daphne, steps, live_doc):
    async def scenario():
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        client = await hub.open(live_doc.pk, "")
        await client.wait_for(lambda: client.auth)
        return client

    assert steps(scenario()).auth == [(p.AUTH_PERMISSION_DENIED, "unauthorized")]
    assert not Presence.objects.exists()


def test_consumers_auth_connection_limit_per_user(daphne, steps, team, tokens, live_doc):
    editor = team.user("editor")
    for index in range(CONNECTIONS_PER_USER):
        presence_open(user=editor, document=live_doc, connection_id=f"elsewhere-{index}", device_type="web")

    async def scenario():
        closed, frames = await refusal(f"{daphne.ws}/ws/documents/{live_doc.pk}?token={tokens['editor']}")
        hub = steps.keep(await HocuspocusSocket.connect(daphne.ws))
        client = await hub.open(live_doc.pk, tokens["editor"])
        await client.wait_for(lambda: client.auth)
        return closed, frames, client

    closed, frames, client = steps(scenario())
    assert (closed, frames) == (4429, [])
    assert [kind for kind, _ in client.auth] == [p.AUTH_PERMISSION_DENIED]
    assert Presence.objects.filter(user=editor).count() == CONNECTIONS_PER_USER
