"""GET invitations/{token}: any signed-in holder of the token sees what it invites to."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from workspaces.models import Workspace
from workspaces.tests.factories import make_invitation
from workspaces.tests.helpers import actor_params, assert_problem, client_for, is_timestamp, user_summary, ws_url

pytestmark = pytest.mark.django_db

OUTCOME = {
    "owner": 200,
    "admin": 200,
    "editor": 200,
    "commenter": 200,
    "viewer": 200,
    "non_member": 200,
    "anonymous": 401,
}

PUBLIC_FIELDS = {"workspace", "role", "status", "invited_by", "expires_at"}


def _url(token: str) -> str:
    return f"/api/v1/invitations/{token}"


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_invitations_retrieve_every_actor(team, actor):
    Workspace.objects.filter(pk=team.workspace.pk).update(icon="🧪")
    invitation, token = make_invitation(
        workspace=team.workspace, invited_by=team.user("admin"), email="outsider@example.com", role="commenter"
    )
    response = team.client(actor).get(_url(token))
    if actor == "anonymous":
        assert_problem(response, 401, "authentication-required")
        return
    assert response.status_code == 200
    body = response.json()
    assert set(body) == PUBLIC_FIELDS
    assert body["workspace"] == {"id": str(team.workspace.pk), "name": "Team Space", "icon": "🧪"}
    assert body["role"] == "commenter" and body["status"] == "pending"
    assert body["invited_by"] == user_summary(team.user("admin"))
    assert is_timestamp(body["expires_at"])
    assert token not in response.content.decode()
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_api_invitations_retrieve_unknown_token_is_404(team):
    make_invitation(workspace=team.workspace)
    for token in ("0" * 64, "short", "x" * 300):
        assert_problem(team.client("owner").get(_url(token)), 404, "not-found")


def test_api_invitations_retrieve_by_its_hash_is_404(team):
    invitation, _ = make_invitation(workspace=team.workspace)
    assert_problem(team.client("owner").get(_url(invitation.token_hash)), 404, "not-found")


def test_api_invitations_retrieve_deleted_workspace_is_404(team):
    _, token = make_invitation(workspace=team.workspace)
    Workspace.objects.filter(pk=team.workspace.pk).update(deleted_at=timezone.now())
    assert_problem(team.client("non_member").get(_url(token)), 404, "not-found")


@pytest.mark.parametrize(
    ("kwargs", "status", "slug"),
    [
        ({"expired": True}, 410, "invitation-expired"),
        ({"status": "expired"}, 410, "invitation-expired"),
        ({"revoked": True}, 410, "gone"),
        ({"declined": True}, 410, "gone"),
    ],
)
def test_api_invitations_retrieve_unusable_invitations_are_410(team, kwargs, status, slug):
    _, token = make_invitation(workspace=team.workspace, **kwargs)
    assert_problem(team.client("non_member").get(_url(token)), status, slug)


def test_api_invitations_retrieve_accepted_invitation_shows_its_status(team):
    _, token = make_invitation(workspace=team.workspace, accepted=True)
    body = team.client("non_member").get(_url(token)).json()
    assert body["status"] == "accepted"


def test_api_invitations_retrieve_expires_after_seven_days(team):
    response = team.client("owner").post(
        ws_url(team.workspace, "/members/invite"), {"email": "outsider@example.com"}, format="json"
    )
    token = response.json()["token"]
    outsider = team.user("non_member")
    with time_machine.travel(timezone.now() + timedelta(days=7) - timedelta(minutes=1), tick=False):
        assert client_for(outsider).get(_url(token)).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=7, seconds=1), tick=False):
        assert_problem(client_for(outsider).get(_url(token)), 410, "invitation-expired")
