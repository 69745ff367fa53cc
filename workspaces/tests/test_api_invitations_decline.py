"""POST invitations/{token}/decline: the invitee (matching email) turns a pending invitation down."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from workspaces.models import Invitation, Workspace, WorkspaceMember
from workspaces.tests.factories import make_invitation
from workspaces.tests.helpers import actor_params, assert_problem, client_for, db_state, invitee_only, ws_url

pytestmark = pytest.mark.django_db

OUTCOME = invitee_only(204)


def _decline(client, token: str):
    return client.post(f"/api/v1/invitations/{token}/decline")


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_invitations_decline_every_actor(team, actor):
    invitation, token = make_invitation(workspace=team.workspace, email="outsider@example.com")
    before = db_state(team.workspace)
    response = _decline(team.client(actor), token)
    status, slug = OUTCOME[actor]
    if status != 204:
        assert_problem(response, status, slug)
        assert db_state(team.workspace) == before
        return
    assert response.status_code == 204 and response.content == b""
    invitation.refresh_from_db()
    assert invitation.status == "declined" and invitation.declined_at is not None
    after = db_state(team.workspace)
    assert after["members"] == before["members"] and after["sync"] == before["sync"]


def test_api_invitations_decline_then_everything_is_gone(team):
    _, token = make_invitation(workspace=team.workspace, email="outsider@example.com")
    client = team.client("non_member")
    _decline(client, token)
    assert_problem(client.get(f"/api/v1/invitations/{token}"), 410, "gone")
    assert_problem(client.post(f"/api/v1/invitations/{token}/accept"), 410, "gone")
    assert_problem(_decline(client, token), 410, "gone")
    assert not WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("non_member")).exists()


def test_api_invitations_decline_frees_a_place_for_a_new_invitation(team):
    _, token = make_invitation(workspace=team.workspace, email="outsider@example.com")
    _decline(team.client("non_member"), token)
    response = team.client("owner").post(
        ws_url(team.workspace, "/members/invite"), {"email": "outsider@example.com"}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("kwargs", "status", "slug"),
    [
        ({"expired": True}, 410, "invitation-expired"),
        ({"status": "expired"}, 410, "invitation-expired"),
        ({"revoked": True}, 410, "gone"),
        ({"accepted": True}, 410, "gone"),
    ],
)
def test_api_invitations_decline_unusable_invitations_are_410(team, kwargs, status, slug):
    invitation, token = make_invitation(workspace=team.workspace, email="outsider@example.com", **kwargs)
    before = db_state(team.workspace)
    assert_problem(_decline(team.client("non_member"), token), status, slug)
    assert db_state(team.workspace) == before


def test_api_invitations_decline_after_accepting_is_gone_and_keeps_the_membership(team):
    _, token = make_invitation(workspace=team.workspace, email="outsider@example.com")
    client = team.client("non_member")
    client.post(f"/api/v1/invitations/{token}/accept")
    assert_problem(_decline(client, token), 410, "gone")
    assert WorkspaceMember.objects.get(workspace=team.workspace, user=team.user("non_member")).is_active
    assert Invitation.objects.get().status == "accepted"


def test_api_invitations_decline_expires_seven_days_after_the_invite(team):
    token = (
        team
        .client("owner")
        .post(ws_url(team.workspace, "/members/invite"), {"email": "outsider@example.com"}, format="json")
        .json()["token"]
    )
    with time_machine.travel(timezone.now() + timedelta(days=7, seconds=1), tick=False):
        assert_problem(_decline(client_for(team.user("non_member")), token), 410, "invitation-expired")
        [row] = client_for(team.user("owner")).get(ws_url(team.workspace, "/invitations")).json()["invitations"]
        assert row["status"] == "expired"
    assert Invitation.objects.get().declined_at is None


def test_api_invitations_decline_unknown_token_is_404(team):
    assert_problem(_decline(team.client("non_member"), "a" * 64), 404, "not-found")


def test_api_invitations_decline_deleted_workspace_is_404(team):
    invitation, token = make_invitation(workspace=team.workspace, email="outsider@example.com")
    Workspace.objects.filter(pk=team.workspace.pk).update(deleted_at=timezone.now())
    assert_problem(_decline(team.client("non_member"), token), 404, "not-found")
    invitation.refresh_from_db()
    assert invitation.status == "pending"
