"""POST workspaces/{id}/members/invite: needs the invite flag; token returned once, mailed after commit."""

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.tokens import sha256_hex
from workspaces.models import Invitation, Workspace, WorkspaceMember
from workspaces.tests.factories import InvitationFactory, MemberFactory, WorkspaceFactory
from workspaces.tests.helpers import (
    INVITATION_CREATED_FIELDS,
    MISSING_ID,
    actor_params,
    assert_problem,
    assert_validation,
    client_for,
    db_state,
    ws_url,
)

pytestmark = pytest.mark.django_db

OUTCOME = {
    "owner": (201, None),
    "admin": (201, None),
    "editor": (403, "permission-denied"),
    "commenter": (403, "permission-denied"),
    "viewer": (403, "permission-denied"),
    "non_member": (404, "not-found"),
    "anonymous": (401, "authentication-required"),
}


def _invite(client, workspace, **payload):
    return client.post(ws_url(workspace, "/members/invite"), payload, format="json")


def _grant_invite(team, actor):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user(actor)).update(
        permissions={"can_invite_members": True}
    )


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_invitations_create_every_actor(team, actor, mailoutbox, django_capture_on_commit_callbacks):
    before = db_state(team.workspace)
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(
            team.client(actor), team.workspace, email="New.Person@Example.com", role="editor", message="Join us"
        )
    status, slug = OUTCOME[actor]
    if status != 201:
        assert_problem(response, status, slug)
        assert db_state(team.workspace) == before and mailoutbox == []
        return
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == INVITATION_CREATED_FIELDS
    assert body["email"] == "new.person@example.com"
    assert body["role"] == "editor" and body["status"] == "pending"
    assert re.fullmatch(r"[0-9a-f]{64}", body["token"])
    assert body["invitation_link"] == f"{settings.FRONTEND_URL}/invite/{body['token']}"
    invitation = Invitation.objects.get(pk=body["invitation_id"])
    assert invitation.workspace == team.workspace and invitation.invited_by == team.user(actor)
    assert (invitation.email, invitation.role, invitation.status, invitation.message) == (
        "new.person@example.com",
        "editor",
        "pending",
        "Join us",
    )
    assert invitation.user is None and invitation.accepted_at is None
    # Only the hash is stored.
    assert invitation.token_hash == sha256_hex(body["token"])
    assert body["token"] not in str(Invitation.objects.filter(pk=invitation.pk).values().get())
    # Seven days to answer.
    expires = parse_datetime(body["expires_at"])
    assert abs(expires - (timezone.now() + timedelta(days=7))) < timedelta(seconds=30)
    assert abs(invitation.expires_at - expires) < timedelta(milliseconds=1)
    # Invitations are not synced entities: no sync entry.
    assert db_state(team.workspace)["sync"] == before["sync"]
    [mail] = mailoutbox
    assert mail.to == ["new.person@example.com"]
    assert body["invitation_link"] in mail.body and "Join us" in mail.body
    assert "Team Space" in mail.subject and team.user(actor).display_name in mail.subject


def test_api_invitations_create_mail_waits_for_the_commit(team, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _invite(team.client("owner"), team.workspace, email="later@example.com")
    assert response.status_code == 201
    assert mailoutbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert [m.to for m in mailoutbox] == [["later@example.com"]]


def test_api_invitations_create_role_defaults_to_settings_default_permissions(team):
    assert _invite(team.client("owner"), team.workspace, email="a@example.com").json()["role"] == "editor"
    Workspace.objects.filter(pk=team.workspace.pk).update(
        settings={**team.workspace.settings, "default_permissions": "viewer"}
    )
    assert _invite(team.client("owner"), team.workspace, email="b@example.com").json()["role"] == "viewer"


def test_api_invitations_create_admin_default_above_editor_is_refused(team):
    Workspace.objects.filter(pk=team.workspace.pk).update(
        settings={**team.workspace.settings, "default_permissions": "admin"}
    )
    assert _invite(team.client("owner"), team.workspace, email="a@example.com").json()["role"] == "admin"
    assert_problem(_invite(team.client("admin"), team.workspace, email="b@example.com"), 403, "permission-denied")


@pytest.mark.parametrize(
    ("actor", "role", "allowed"),
    [
        ("owner", "admin", True),
        ("owner", "editor", True),
        ("owner", "commenter", True),
        ("owner", "viewer", True),
        ("admin", "admin", False),
        ("admin", "editor", True),
        ("admin", "commenter", True),
        ("admin", "viewer", True),
    ],
)
def test_api_invitations_create_invitable_roles_of_owner_and_admin(
    team, actor, role, allowed, mailoutbox, django_capture_on_commit_callbacks
):
    before = db_state(team.workspace)
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(team.client(actor), team.workspace, email="x@example.com", role=role)
    if allowed:
        assert response.status_code == 201 and response.json()["role"] == role
        assert Invitation.objects.get(workspace=team.workspace).role == role
    else:
        assert_problem(response, 403, "permission-denied")
        assert db_state(team.workspace) == before and mailoutbox == []


@pytest.mark.parametrize(
    ("actor", "allowed_roles"),
    [("editor", {"viewer", "commenter", "editor"}), ("commenter", {"viewer", "commenter"}), ("viewer", {"viewer"})],
)
def test_api_invitations_create_invite_override_allows_up_to_min_editor_and_own_role(team, actor, allowed_roles):
    _grant_invite(team, actor)
    for index, role in enumerate(["viewer", "commenter", "editor", "admin"]):
        response = _invite(team.client(actor), team.workspace, email=f"p{index}@example.com", role=role)
        if role in allowed_roles:
            assert response.status_code == 201, (role, response.json())
        else:
            assert_problem(response, 403, "permission-denied")
    assert set(Invitation.objects.filter(workspace=team.workspace).values_list("role", flat=True)) == allowed_roles


def test_api_invitations_create_admin_with_invite_revoked_is_403(team):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("admin")).update(
        permissions={"can_invite_members": False}
    )
    assert_problem(
        _invite(team.client("admin"), team.workspace, email="x@example.com", role="viewer"), 403, "permission-denied"
    )
    assert not Invitation.objects.exists()


@pytest.mark.parametrize("email", ["editor@example.com", "EDITOR@example.com", " owner@example.com "])
def test_api_invitations_create_existing_member_is_409(team, email, mailoutbox):
    before = db_state(team.workspace)
    assert_problem(_invite(team.client("owner"), team.workspace, email=email), 409, "already-member")
    assert db_state(team.workspace) == before and mailoutbox == []


def test_api_invitations_create_former_member_can_be_invited_again(team):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("viewer")).update(is_active=False)
    assert _invite(team.client("owner"), team.workspace, email="viewer@example.com").status_code == 201


def test_api_invitations_create_pending_invitation_for_the_same_email_is_409(team):
    first = _invite(team.client("owner"), team.workspace, email="twice@example.com")
    assert first.status_code == 201
    before = db_state(team.workspace)
    assert_problem(_invite(team.client("admin"), team.workspace, email="TWICE@example.com"), 409, "invitation-pending")
    assert db_state(team.workspace) == before


@pytest.mark.parametrize("trait", ["expired", "revoked", "declined", "accepted"])
def test_api_invitations_create_answered_or_expired_invitation_does_not_block(team, trait):
    InvitationFactory(workspace=team.workspace, email="again@example.com", **{trait: True})
    assert _invite(team.client("owner"), team.workspace, email="again@example.com").status_code == 201


def test_api_invitations_create_same_email_in_another_workspace_is_independent(team):
    InvitationFactory(workspace=WorkspaceFactory(), email="shared@example.com")
    assert _invite(team.client("owner"), team.workspace, email="shared@example.com").status_code == 201


def test_api_invitations_create_member_limit_counts_members_and_pending_invitations(team, mailoutbox):
    """5 active members + 5 pending invitations fill the default limit of 10."""
    client = team.client("owner")
    for index in range(5):
        assert _invite(client, team.workspace, email=f"m{index}@example.com").status_code == 201
    before = db_state(team.workspace)
    assert_problem(_invite(client, team.workspace, email="one-too-many@example.com"), 409, "member-limit")
    assert db_state(team.workspace) == before
    # Revoking one frees a place.
    Invitation.objects.filter(workspace=team.workspace, email="m0@example.com").update(status="revoked")
    assert _invite(client, team.workspace, email="one-too-many@example.com").status_code == 201


def test_api_invitations_create_member_limit_ignores_former_members_and_expired_invitations(team):
    Workspace.objects.filter(pk=team.workspace.pk).update(member_limit=7)
    MemberFactory(workspace=team.workspace, inactive=True)
    InvitationFactory(workspace=team.workspace, email="old@example.com", expired=True)
    InvitationFactory(workspace=team.workspace, email="waiting@example.com")
    assert _invite(team.client("owner"), team.workspace, email="sixth@example.com").status_code == 201
    assert_problem(_invite(team.client("owner"), team.workspace, email="eighth@example.com"), 409, "member-limit")
    # The stale pending invitation was marked expired on the way.
    assert Invitation.objects.get(email="old@example.com").status == "expired"


def test_api_invitations_create_at_most_50_pending_invitations(team):
    Workspace.objects.filter(pk=team.workspace.pk).update(member_limit=1000)
    InvitationFactory.create_batch(49, workspace=team.workspace)
    assert _invite(team.client("owner"), team.workspace, email="fiftieth@example.com").status_code == 201
    before = db_state(team.workspace)
    assert_problem(
        _invite(team.client("owner"), team.workspace, email="fifty-first@example.com"), 409, "invitation-limit"
    )
    assert db_state(team.workspace) == before


def test_api_invitations_create_personal_workspace_is_409(team, mailoutbox):
    owner = team.user("non_member")
    workspace = WorkspaceFactory(owner=owner, personal=True)
    before = db_state(workspace)
    assert_problem(_invite(client_for(owner), workspace, email="friend@example.com"), 409, "personal-workspace")
    assert db_state(workspace) == before and mailoutbox == []


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "email"),
        ({"email": ""}, "email"),
        ({"email": None}, "email"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "a@"}, "email"),
        ({"email": 42}, "email"),
        ({"email": ["a@example.com"]}, "email"),
        ({"email": "a" * 250 + "@example.com"}, "email"),
        ({"email": "ok@example.com", "role": "owner"}, "role"),
        ({"email": "ok@example.com", "role": "superuser"}, "role"),
        ({"email": "ok@example.com", "role": 2}, "role"),
        ({"email": "ok@example.com", "role": None}, "role"),
        ({"email": "ok@example.com", "message": "m" * 1001}, "message"),
        ({"email": "ok@example.com", "message": 5}, "message"),
        ({"email": "ok@example.com", "message": "nul\x00"}, "message"),
    ],
)
def test_api_invitations_create_bad_input_is_400_and_changes_nothing(team, payload, field, mailoutbox):
    before = db_state(team.workspace)
    assert_validation(_invite(team.client("owner"), team.workspace, **payload), field)
    assert db_state(team.workspace) == before and mailoutbox == []


def test_api_invitations_create_message_of_1000_characters_is_accepted(team):
    assert (
        _invite(team.client("owner"), team.workspace, email="long@example.com", message="m" * 1000).status_code == 201
    )


@pytest.mark.parametrize("actor", ["editor", "non_member"])
def test_api_invitations_create_refusal_comes_before_validation(team, actor):
    response = _invite(team.client(actor), team.workspace, email="nope")
    assert response.status_code == {"editor": 403, "non_member": 404}[actor]


@pytest.mark.parametrize("workspace_id", ["bad", MISSING_ID])
def test_api_invitations_create_malformed_or_unknown_workspace_is_404(team, workspace_id):
    assert_problem(_invite(team.client("owner"), workspace_id, email="x@example.com"), 404, "not-found")
    assert not Invitation.objects.exists()


def test_api_invitations_create_tokens_are_unique(team):
    tokens = {
        _invite(team.client("owner"), team.workspace, email=f"u{i}@example.com").json()["token"] for i in range(3)
    }
    assert len(tokens) == 3


def test_api_invitations_create_form_body_is_415(team, mailoutbox):
    before = db_state(team.workspace)
    response = team.client("owner").post(ws_url(team.workspace, "/members/invite"), {"email": "form@example.com"})
    assert_problem(response, 415, "unsupported-media-type")
    assert db_state(team.workspace) == before and mailoutbox == []


def test_api_invitations_create_malformed_json_is_invalid_json(team):
    response = team.client("owner").post(
        ws_url(team.workspace, "/members/invite"), data='{"email": "x@', content_type="application/json"
    )
    assert_problem(response, 400, "invalid-json")
    assert not Invitation.objects.exists()
