"""GET workspaces/{id}: members read it with their own role and flags; everyone else gets 404/401."""

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from workspaces.models import Workspace, WorkspaceMember
from workspaces.tests.factories import MemberFactory, WorkspaceFactory
from workspaces.tests.helpers import (
    DEFAULT_SETTINGS,
    EVERY_MEMBER_READS,
    MEMBER_ROLES,
    MISSING_ID,
    ROLE_FLAGS,
    WORKSPACE_DETAIL_FIELDS,
    actor_params,
    allowed,
    assert_problem,
    client_for,
    flags,
    is_timestamp,
    user_summary,
    ws_url,
)

pytestmark = pytest.mark.django_db

OUTCOME = EVERY_MEMBER_READS


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_workspaces_retrieve_every_actor(team, actor):
    response = team.client(actor).get(ws_url(team.workspace))
    if not allowed(response, actor, MEMBER_ROLES):
        return
    body = response.json()
    assert set(body) == WORKSPACE_DETAIL_FIELDS
    workspace = team.workspace
    assert body["id"] == str(workspace.pk)
    assert body["name"] == "Team Space" and body["slug"] == workspace.slug
    assert body["description"] == "" and body["icon"] == "" and body["color"] == ""
    assert body["is_personal"] is False and body["is_team"] is True
    assert body["role"] == actor
    assert body["permissions"] == ROLE_FLAGS[actor]
    assert body["settings"] == DEFAULT_SETTINGS
    assert body["storage_used_bytes"] == 0 and body["storage_limit_bytes"] == 1024**3
    assert body["member_limit"] == 10
    assert body["member_count"] == 5 and body["document_count"] == 0
    assert is_timestamp(body["created_at"]) and is_timestamp(body["updated_at"])
    assert body["owner"] == user_summary(team.user("owner"))


@pytest.mark.parametrize("role", MEMBER_ROLES[1:])
def test_api_workspaces_retrieve_member_permissions_include_overrides(team, role):
    member = team.member(role)
    member.permissions = {"can_manage_workspace": True} if role == "admin" else {"can_invite_members": True}
    member.save()
    body = team.client(role).get(ws_url(team.workspace)).json()
    expected = dict(ROLE_FLAGS[role])
    if role == "admin":
        expected["can_manage_workspace"] = True
    else:
        expected["can_invite_members"] = True
    assert body["permissions"] == expected


def test_api_workspaces_retrieve_owner_overrides_are_ignored(team):
    member = team.member("owner")
    member.permissions = {"can_delete_documents": False}
    member.save()
    body = team.client("owner").get(ws_url(team.workspace)).json()
    assert body["permissions"] == ROLE_FLAGS["owner"]


def test_api_workspaces_retrieve_member_count_ignores_inactive_members(team):
    MemberFactory(workspace=team.workspace, inactive=True)
    body = team.client("viewer").get(ws_url(team.workspace)).json()
    assert body["member_count"] == 5


def test_api_workspaces_retrieve_former_member_is_404(team):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("editor")).update(is_active=False)
    assert_problem(team.client("editor").get(ws_url(team.workspace)), 404, "not-found")


def test_api_workspaces_retrieve_deleted_workspace_is_404_even_for_owner(team):
    Workspace.objects.filter(pk=team.workspace.pk).update(deleted_at=timezone.now())
    assert_problem(team.client("owner").get(ws_url(team.workspace)), 404, "not-found")


@pytest.mark.parametrize("workspace_id", ["not-a-uuid", "1234", MISSING_ID, "00000000-0000-0000-0000-00000000000g"])
def test_api_workspaces_retrieve_malformed_or_unknown_id_is_404(team, workspace_id):
    assert_problem(team.client("owner").get(ws_url(workspace_id)), 404, "not-found")


def test_api_workspaces_retrieve_personal_workspace_shape():
    user = UserFactory()
    workspace = WorkspaceFactory(owner=user, personal=True, name="Mine")
    body = client_for(user).get(ws_url(workspace)).json()
    assert body["is_personal"] is True and body["is_team"] is False
    assert body["role"] == "owner" and body["permissions"] == flags(
        "create", "edit", "delete", "comment", "invite", "manage"
    )
    assert body["member_count"] == 1


def test_api_workspaces_retrieve_isolation_between_workspaces(team):
    other = WorkspaceFactory(name="Elsewhere")
    assert_problem(team.client("owner").get(ws_url(other)), 404, "not-found")
    assert client_for(other.owner).get(ws_url(team.workspace)).status_code == 404
