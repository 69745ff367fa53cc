"""POST invitations/{token}/accept: the invitee (matching, verified email) joins with the invited role."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from sync.models import SyncLog
from workspaces.models import Invitation, Workspace, WorkspaceMember
from workspaces.tests.factories import make_invitation
from workspaces.tests.helpers import (
    ROLE_FLAGS,
    actor_params,
    assert_problem,
    client_for,
    db_state,
    invitee_only,
    last_seq,
    sync_entries,
    ws_url,
)

pytestmark = pytest.mark.django_db

OUTCOME = invitee_only(200)


def _accept(client, token: str):
    return client.post(f"/api/v1/invitations/{token}/accept")


@pytest.fixture
def invited(team):
    """A pending invitation (commenter) for the non-member's email, sent by the admin."""
    return make_invitation(
        workspace=team.workspace, invited_by=team.user("admin"), email="outsider@example.com", role="commenter"
    )


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_invitations_accept_every_actor(team, invited, actor):
    invitation, token = invited
    before = db_state(team.workspace)
    response = _accept(team.client(actor), token)
    status, slug = OUTCOME[actor]
    if status != 200:
        assert_problem(response, status, slug)
        assert db_state(team.workspace) == before
        return
    assert response.status_code == 200
    assert response.json() == {
        "workspace_id": str(team.workspace.pk),
        "document_id": None,
        "role": "commenter",
        "success": True,
        "message": "You now have access to the workspace.",  # the existing client's keys
    }
    outsider = team.user("non_member")
    member = WorkspaceMember.objects.get(workspace=team.workspace, user=outsider)
    assert (member.role, member.is_active, member.permissions) == ("commenter", True, {})
    assert member.invited_by == team.user("admin") and member.invitation_accepted_at is not None
    invitation.refresh_from_db()
    assert (invitation.status, invitation.user, invitation.accepted_at is not None) == ("accepted", outsider, True)


def test_api_invitations_accept_opens_the_workspace_with_the_invited_role(team, invited):
    _, token = invited
    client = team.client("non_member")
    assert_problem(client.get(ws_url(team.workspace)), 404, "not-found")
    _accept(client, token)
    body = client.get(ws_url(team.workspace)).json()
    assert body["role"] == "commenter" and body["permissions"] == ROLE_FLAGS["commenter"]
    assert body["member_count"] == 6


def test_api_invitations_accept_writes_a_member_create_sync_entry(team, invited):
    _, token = invited
    seq = last_seq(team.workspace)
    _accept(team.client("non_member"), token)
    [entry] = sync_entries(team.workspace, after=seq)
    outsider = team.user("non_member")
    assert (entry.seq, entry.entity_type, entry.operation) == (seq + 1, SyncLog.EntityType.MEMBER, "create")
    assert entry.entity_id == outsider.pk and entry.changed_by == outsider
    assert entry.data == {"user_id": str(outsider.pk), "role": "commenter", "permissions": {}, "is_active": True}


def test_api_invitations_accept_again_is_idempotent(team, invited):
    _, token = invited
    client = team.client("non_member")
    first = _accept(client, token)
    state = db_state(team.workspace)
    second = _accept(client, token)
    assert second.status_code == 200 and second.json() == first.json()
    assert db_state(team.workspace) == state


def test_api_invitations_accept_needs_a_verified_email(team, invited):
    _, token = invited
    User.objects.filter(pk=team.user("non_member").pk).update(email_verified=False)
    before = db_state(team.workspace)
    assert_problem(_accept(team.client("non_member"), token), 403, "email-not-verified")
    assert db_state(team.workspace) == before


def test_api_invitations_accept_email_match_ignores_case(team):
    _, token = make_invitation(workspace=team.workspace, email="outsider@example.com")
    user = UserFactory(email="MixedCase@Example.com")
    _, other_token = make_invitation(workspace=team.workspace, email="mixedcase@example.com")
    assert _accept(team.client("non_member"), token).status_code == 200
    assert _accept(client_for(user), other_token).status_code == 200


@pytest.mark.parametrize(
    ("kwargs", "status", "slug"),
    [
        ({"revoked": True}, 410, "gone"),
        ({"declined": True}, 410, "gone"),
        ({"status": "expired"}, 410, "invitation-expired"),
    ],
)
def test_api_invitations_accept_unusable_invitations_are_410(team, kwargs, status, slug):
    _, token = make_invitation(workspace=team.workspace, email="outsider@example.com", **kwargs)
    before = db_state(team.workspace)
    assert_problem(_accept(team.client("non_member"), token), status, slug)
    assert db_state(team.workspace) == before


def test_api_invitations_accept_past_expiry_is_410_and_marks_it_expired(team):
    invitation, token = make_invitation(workspace=team.workspace, email="outsider@example.com", expired=True)
    seq = last_seq(team.workspace)
    assert_problem(_accept(team.client("non_member"), token), 410, "invitation-expired")
    invitation.refresh_from_db()
    assert invitation.status == "expired"
    assert not WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("non_member")).exists()
    assert last_seq(team.workspace) == seq


def test_api_invitations_accept_expires_seven_days_after_the_invite(team):
    created = team.client("owner").post(
        ws_url(team.workspace, "/members/invite"), {"email": "outsider@example.com", "role": "viewer"}, format="json"
    )
    token = created.json()["token"]
    outsider = team.user("non_member")
    with time_machine.travel(timezone.now() + timedelta(days=7, seconds=1), tick=False):
        assert_problem(_accept(client_for(outsider), token), 410, "invitation-expired")
    assert Invitation.objects.get().status == "expired"
    assert not WorkspaceMember.objects.filter(workspace=team.workspace, user=outsider).exists()


def test_api_invitations_accept_just_before_expiry_works(team):
    created = team.client("owner").post(
        ws_url(team.workspace, "/members/invite"), {"email": "outsider@example.com", "role": "viewer"}, format="json"
    )
    token = created.json()["token"]
    with time_machine.travel(timezone.now() + timedelta(days=6, hours=23), tick=False):
        response = _accept(client_for(team.user("non_member")), token)
    assert response.status_code == 200 and response.json()["role"] == "viewer"


def test_api_invitations_accept_when_the_workspace_is_full_is_409(team, invited):
    _, token = invited
    Workspace.objects.filter(pk=team.workspace.pk).update(member_limit=5)
    before = db_state(team.workspace)
    assert_problem(_accept(team.client("non_member"), token), 409, "member-limit")
    assert db_state(team.workspace) == before


def test_api_invitations_accept_former_member_rejoins_with_the_new_role(team):
    row = WorkspaceMember.objects.get(workspace=team.workspace, user=team.user("editor"))
    row.is_active, row.permissions = False, {"can_delete_documents": True}
    row.save()
    _, token = make_invitation(workspace=team.workspace, email="editor@example.com", role="viewer")
    seq = last_seq(team.workspace)
    response = _accept(team.client("editor"), token)
    assert response.status_code == 200 and response.json()["role"] == "viewer"
    row.refresh_from_db()
    assert (row.role, row.is_active, row.permissions) == ("viewer", True, {})
    assert WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("editor")).count() == 1
    [entry] = sync_entries(team.workspace, after=seq)
    assert entry.operation == "update" and entry.changes["new"]["is_active"] is True


def test_api_invitations_accept_after_leaving_is_gone(team, invited):
    _, token = invited
    client = team.client("non_member")
    _accept(client, token)
    client.delete(ws_url(team.workspace, f"/members/{team.user('non_member').pk}"))
    assert_problem(_accept(client, token), 410, "gone")
    assert not WorkspaceMember.objects.get(workspace=team.workspace, user=team.user("non_member")).is_active


def test_api_invitations_accept_unknown_token_is_404(team):
    assert_problem(_accept(team.client("non_member"), "f" * 64), 404, "not-found")


def test_api_invitations_accept_deleted_workspace_is_404(team, invited):
    _, token = invited
    Workspace.objects.filter(pk=team.workspace.pk).update(deleted_at=timezone.now())
    assert_problem(_accept(team.client("non_member"), token), 404, "not-found")
    assert not WorkspaceMember.objects.filter(user=team.user("non_member")).exists()


def test_api_invitations_accept_admin_invitation_gives_admin(team):
    _, token = make_invitation(workspace=team.workspace, email="outsider@example.com", role="admin")
    assert _accept(team.client("non_member"), token).json()["role"] == "admin"
    assert WorkspaceMember.objects.get(workspace=team.workspace, user=team.user("non_member")).role == "admin"


def test_api_invitations_accept_get_is_405(team, invited):
    _, token = invited
    assert_problem(team.client("non_member").get(f"/api/v1/invitations/{token}/accept"), 405, "method-not-allowed")
