"""GET documents/{id}/presence: who is connected right now (SPEC §3.3, §5.5)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from collab.models import Presence
from collab.sessions import presence_close, presence_open
from documents.services.documents import document_create, document_delete
from documents.tests.helpers import ACTORS, MISSING_ID, assert_refused, client_for, is_timestamp, outcome, user_summary

pytestmark = pytest.mark.django_db

READERS = ("owner", "admin", "editor", "commenter", "viewer")


@pytest.fixture
def document(team):
    return document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "P", "content": "x"})


def _connect(user, document, connection_id, device="web"):
    return presence_open(user=user, document=document, connection_id=connection_id, device_type=device)


def _url(document_id) -> str:
    return f"/api/v1/documents/{document_id}/presence"


@pytest.mark.parametrize("actor", ACTORS)
def test_api_collab_presence_by_actor(team, document, actor):
    editor, viewer = team.user("editor"), team.user("viewer")
    _connect(editor, document, "tab-1", "web")
    _connect(editor, document, "tab-2", "desktop")
    _connect(viewer, document, "phone", "mobile")
    response = client_for(team.user(actor)).get(_url(document.pk))
    status = outcome(actor, READERS)
    if status != 200:
        assert_refused(response, status)
        return
    users = response.json()["users"]
    assert [user["id"] for user in users] == [str(editor.pk), str(viewer.pk)]  # one entry per user, by arrival
    for user, person, device in ((users[0], editor, "web"), (users[1], viewer, "mobile")):
        assert set(user) == {"id", "display_name", "avatar_url", "device_type", "is_typing", "last_activity_at"}
        assert {key: user[key] for key in ("id", "display_name", "avatar_url")} == user_summary(person)
        assert (user["device_type"], user["is_typing"]) == (device, False)
        assert is_timestamp(user["last_activity_at"])


def test_api_collab_presence_lists_only_live_connections(team, document):
    editor, viewer, admin = team.user("editor"), team.user("viewer"), team.user("admin")
    _connect(editor, document, "closed")
    presence_close(connection_id="closed")
    _connect(viewer, document, "stale")
    Presence.objects.filter(connection_id="stale").update(expires_at=timezone.now() - timedelta(seconds=1))
    _connect(admin, document, "live")
    Presence.objects.filter(connection_id="live").update(is_typing=True)
    users = client_for(team.user("owner")).get(_url(document.pk)).json()["users"]
    assert [(user["id"], user["is_typing"]) for user in users] == [(str(admin.pk), True)]


def test_api_collab_presence_of_another_document_is_not_listed(team, document):
    other = document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "O", "content": "o"})
    _connect(team.user("editor"), other, "elsewhere")
    assert client_for(team.user("viewer")).get(_url(document.pk)).json() == {"users": []}


@pytest.mark.parametrize("case", ["missing", "malformed", "deleted"])
def test_api_collab_presence_invisible_document_is_404(team, document, case):
    if case == "deleted":
        document_delete(actor=team.user("owner"), document=document)
    target = {"missing": MISSING_ID, "malformed": "not-a-uuid", "deleted": document.pk}[case]
    assert_refused(client_for(team.user("owner")).get(_url(target)), 404)
