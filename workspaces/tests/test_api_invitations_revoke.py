"""DELETE workspaces/{id}/invitations/{invitation_id}: needs the invite flag; only pending ones."""

import pytest

from workspaces.models import Invitation, WorkspaceMember
from workspaces.tests.factories import InvitationFactory, WorkspaceFactory, make_invitation
from workspaces.tests.helpers import MISSING_ID, actor_params, assert_problem, db_state, ws_url

pytestmark = pytest.mark.django_db

OUTCOME = {
    "owner": (204, None),
    "admin": (204, None),
    "editor": (403, "permission-denied"),
    "commenter": (403, "permission-denied"),
    "viewer": (403, "permission-denied"),
    "non_member": (404, "not-found"),
    "anonymous": (401, "authentication-required"),
}


def _revoke(client, workspace, invitation_id):
    return client.delete(ws_url(workspace, f"/invitations/{invitation_id}"))


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_invitations_revoke_every_actor(team, actor):
    invitation = InvitationFactory(workspace=team.workspace)
    before = db_state(team.workspace)
    response = _revoke(team.client(actor), team.workspace, invitation.pk)
    status, slug = OUTCOME[actor]
    if status != 204:
        assert_problem(response, status, slug)
        assert db_state(team.workspace) == before
        return
    assert response.status_code == 204 and response.content == b""
    invitation.refresh_from_db()
    assert invitation.status == "revoked"
    after = db_state(team.workspace)
    assert after["members"] == before["members"] and after["sync"] == before["sync"]


def test_api_invitations_revoke_with_invite_override(team):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("commenter")).update(
        permissions={"can_invite_members": True}
    )
    invitation = InvitationFactory(workspace=team.workspace, role="admin")
    assert _revoke(team.client("commenter"), team.workspace, invitation.pk).status_code == 204


def test_api_invitations_revoked_token_is_gone(team):
    invitation, token = make_invitation(workspace=team.workspace, email="outsider@example.com")
    _revoke(team.client("owner"), team.workspace, invitation.pk)
    outsider = team.client("non_member")
    assert_problem(outsider.get(f"/api/v1/invitations/{token}"), 410, "gone")
    assert_problem(outsider.post(f"/api/v1/invitations/{token}/accept"), 410, "gone")
    assert not WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("non_member")).exists()


def test_api_invitations_revoke_frees_a_place_for_the_same_email(team):
    invitation = InvitationFactory(workspace=team.workspace, email="again@example.com")
    _revoke(team.client("owner"), team.workspace, invitation.pk)
    response = team.client("owner").post(
        ws_url(team.workspace, "/members/invite"), {"email": "again@example.com"}, format="json"
    )
    assert response.status_code == 201


@pytest.mark.parametrize("trait", ["revoked", "declined", "accepted", "expired", "stale"])
def test_api_invitations_revoke_not_pending_is_409(team, trait):
    kwargs = {"expired": True} if trait == "stale" else {"status": "expired"} if trait == "expired" else {trait: True}
    invitation = InvitationFactory(workspace=team.workspace, **kwargs)
    before = db_state(team.workspace)
    assert_problem(_revoke(team.client("owner"), team.workspace, invitation.pk), 409, "invitation-not-pending")
    assert db_state(team.workspace) == before


def test_api_invitations_revoke_twice_is_409(team):
    invitation = InvitationFactory(workspace=team.workspace)
    assert _revoke(team.client("admin"), team.workspace, invitation.pk).status_code == 204
    assert_problem(_revoke(team.client("admin"), team.workspace, invitation.pk), 409, "invitation-not-pending")


@pytest.mark.parametrize("kind", ["malformed", "unknown", "other_workspace"])
def test_api_invitations_revoke_unknown_invitation_is_404(team, kind):
    other = InvitationFactory(workspace=WorkspaceFactory())
    invitation_id = {"malformed": "not-a-uuid", "unknown": MISSING_ID, "other_workspace": other.pk}[kind]
    assert_problem(_revoke(team.client("owner"), team.workspace, invitation_id), 404, "not-found")
    other.refresh_from_db()
    assert other.status == "pending"


def test_api_invitations_revoke_other_workspaces_invitation_through_its_own_workspace_still_needs_membership(team):
    other = InvitationFactory(workspace=WorkspaceFactory())
    assert_problem(_revoke(team.client("owner"), other.workspace, other.pk), 404, "not-found")
    assert Invitation.objects.get(pk=other.pk).status == "pending"


@pytest.mark.parametrize("workspace_id", ["bad", MISSING_ID])
def test_api_invitations_revoke_malformed_or_unknown_workspace_is_404(team, workspace_id):
    invitation = InvitationFactory(workspace=team.workspace)
    assert_problem(_revoke(team.client("owner"), workspace_id, invitation.pk), 404, "not-found")
    assert Invitation.objects.get(pk=invitation.pk).status == "pending"
