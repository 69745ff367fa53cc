"""GET workspaces/{id}/invitations: needs the invite flag; never shows tokens."""

import pytest
from django.utils import timezone

from accounts.models import User
from workspaces.models import WorkspaceMember
from workspaces.tests.factories import InvitationFactory, WorkspaceFactory, make_invitation
from workspaces.tests.helpers import (
    INVITATION_FIELDS,
    MISSING_ID,
    actor_params,
    assert_problem,
    assert_validation,
    is_timestamp,
    user_summary,
    ws_url,
)

pytestmark = pytest.mark.django_db

OUTCOME = {
    "owner": (200, None),
    "admin": (200, None),
    "editor": (403, "permission-denied"),
    "commenter": (403, "permission-denied"),
    "viewer": (403, "permission-denied"),
    "non_member": (404, "not-found"),
    "anonymous": (401, "authentication-required"),
}


def _list(client, workspace, **params):
    return client.get(ws_url(workspace, "/invitations"), params)


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_invitations_list_every_actor(team, actor):
    invitation, token = make_invitation(
        workspace=team.workspace, invited_by=team.user("admin"), email="guest@example.com", role="viewer", message="hi"
    )
    InvitationFactory(workspace=WorkspaceFactory(), email="elsewhere@example.com")
    response = _list(team.client(actor), team.workspace)
    status, slug = OUTCOME[actor]
    if status != 200:
        assert_problem(response, status, slug)
        return
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"invitations", "total"} and body["total"] == 1
    [row] = body["invitations"]
    assert set(row) == INVITATION_FIELDS
    assert row["id"] == str(invitation.pk)
    assert (row["email"], row["role"], row["status"], row["message"]) == (
        "guest@example.com",
        "viewer",
        "pending",
        "hi",
    )
    assert row["invited_by"] == user_summary(team.user("admin"))
    assert row["document_id"] is None
    assert is_timestamp(row["created_at"]) and is_timestamp(row["expires_at"])
    assert token not in response.content.decode() and invitation.token_hash not in response.content.decode()


@pytest.mark.parametrize("actor", ["editor", "commenter", "viewer"])
def test_api_invitations_list_invite_override_opens_it(team, actor):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user(actor)).update(
        permissions={"can_invite_members": True}
    )
    InvitationFactory(workspace=team.workspace)
    response = _list(team.client(actor), team.workspace)
    assert response.status_code == 200 and response.json()["total"] == 1


def test_api_invitations_list_admin_with_invite_revoked_is_403(team):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("admin")).update(
        permissions={"can_invite_members": False}
    )
    assert_problem(_list(team.client("admin"), team.workspace), 403, "permission-denied")


@pytest.fixture
def every_status(team):
    """One invitation in each state, plus one pending past its expiry."""
    made = {
        "pending": InvitationFactory(workspace=team.workspace, email="pending@example.com"),
        "stale": InvitationFactory(workspace=team.workspace, email="stale@example.com", expired=True),
        "expired": InvitationFactory(workspace=team.workspace, email="expired@example.com", status="expired"),
        "accepted": InvitationFactory(workspace=team.workspace, email="accepted@example.com", accepted=True),
        "declined": InvitationFactory(workspace=team.workspace, email="declined@example.com", declined=True),
        "revoked": InvitationFactory(workspace=team.workspace, email="revoked@example.com", revoked=True),
    }
    return made


@pytest.mark.parametrize(
    ("wanted", "emails"),
    [
        ("pending", {"pending@example.com"}),
        ("expired", {"stale@example.com", "expired@example.com"}),
        ("accepted", {"accepted@example.com"}),
        ("declined", {"declined@example.com"}),
        ("revoked", {"revoked@example.com"}),
    ],
)
def test_api_invitations_list_status_filter(team, every_status, wanted, emails):
    body = _list(team.client("owner"), team.workspace, status=wanted).json()
    assert {row["email"] for row in body["invitations"]} == emails
    assert {row["status"] for row in body["invitations"]} == {wanted}
    assert body["total"] == len(emails)


def test_api_invitations_list_without_filter_shows_all_newest_first_with_past_expiry_as_expired(team, every_status):
    body = _list(team.client("owner"), team.workspace).json()
    assert body["total"] == 6
    statuses = {row["email"]: row["status"] for row in body["invitations"]}
    assert statuses["stale@example.com"] == "expired"
    assert statuses["pending@example.com"] == "pending"
    created = [row["created_at"] for row in body["invitations"]]
    assert created == sorted(created, reverse=True)


def test_api_invitations_list_inviter_of_deleted_account(team):
    InvitationFactory(workspace=team.workspace, invited_by=team.user("admin"))
    User.objects.filter(pk=team.user("admin").pk).update(deleted_at=timezone.now())
    [row] = _list(team.client("owner"), team.workspace).json()["invitations"]
    assert row["invited_by"]["display_name"] == "Deleted user"


def test_api_invitations_list_limit_and_offset(team):
    InvitationFactory.create_batch(5, workspace=team.workspace)
    body = _list(team.client("owner"), team.workspace, limit=2, offset=4).json()
    assert len(body["invitations"]) == 1 and body["total"] == 5


@pytest.mark.parametrize(
    "params",
    [{"status": "bogus"}, {"status": "PENDING"}, {"limit": 0}, {"limit": 201}, {"limit": "x"}, {"offset": -3}],
)
def test_api_invitations_list_bad_query_params_are_400(team, params):
    assert_validation(_list(team.client("owner"), team.workspace, **params), *params)


@pytest.mark.parametrize("workspace_id", ["bad", MISSING_ID])
def test_api_invitations_list_malformed_or_unknown_workspace_is_404(team, workspace_id):
    assert_problem(_list(team.client("owner"), workspace_id), 404, "not-found")
