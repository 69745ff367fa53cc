"""DELETE workspaces/{id}: owner only, team workspaces without other active members; soft delete."""

import pytest

from sync.models import SyncLog
from workspaces.models import Workspace, WorkspaceMember
from workspaces.tests.factories import MemberFactory, WorkspaceFactory, make_invitation
from workspaces.tests.helpers import (
    MISSING_ID,
    actor_params,
    assert_problem,
    client_for,
    db_state,
    last_seq,
    sync_entries,
    ws_url,
)

pytestmark = pytest.mark.django_db

OUTCOME = {
    "owner": (409, "workspace-has-members"),
    "admin": (403, "permission-denied"),
    "editor": (403, "permission-denied"),
    "commenter": (403, "permission-denied"),
    "viewer": (403, "permission-denied"),
    "non_member": (404, "not-found"),
    "anonymous": (401, "authentication-required"),
}


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_workspaces_delete_every_actor_while_members_remain(team, actor):
    before = db_state(team.workspace)
    response = team.client(actor).delete(ws_url(team.workspace))
    assert_problem(response, *OUTCOME[actor])
    assert db_state(team.workspace) == before


def _alone(team):
    """Leave the owner as the only active member."""
    WorkspaceMember.objects.filter(workspace=team.workspace).exclude(user=team.user("owner")).update(is_active=False)


def test_api_workspaces_delete_owner_alone_is_204_and_soft_deletes(team):
    _alone(team)
    seq = last_seq(team.workspace)
    response = team.client("owner").delete(ws_url(team.workspace))
    assert response.status_code == 204 and response.content == b""
    stored = Workspace.objects.get(pk=team.workspace.pk)
    assert stored.deleted_at is not None
    [entry] = sync_entries(team.workspace, after=seq)
    assert (entry.seq, entry.entity_type, entry.operation) == (seq + 1, SyncLog.EntityType.WORKSPACE, "delete")
    assert entry.entity_id == team.workspace.pk and entry.changed_by == team.user("owner")


def test_api_workspaces_delete_then_it_is_gone_everywhere(team):
    _alone(team)
    _, token = make_invitation(workspace=team.workspace, email="later@example.com")
    client = team.client("owner")
    assert client.delete(ws_url(team.workspace)).status_code == 204
    assert_problem(client.get(ws_url(team.workspace)), 404, "not-found")
    assert_problem(client.get(ws_url(team.workspace, "/members")), 404, "not-found")
    assert_problem(client.delete(ws_url(team.workspace)), 404, "not-found")
    assert client.get("/api/v1/workspaces").json()["total"] == 0
    assert_problem(client.get(f"/api/v1/invitations/{token}"), 404, "not-found")


@pytest.mark.parametrize("role", ["admin", "editor", "commenter", "viewer"])
def test_api_workspaces_delete_any_other_active_member_blocks(team, role):
    WorkspaceMember.objects.filter(workspace=team.workspace).exclude(
        user__in=[team.user("owner"), team.user(role)]
    ).update(is_active=False)
    before = db_state(team.workspace)
    assert_problem(team.client("owner").delete(ws_url(team.workspace)), 409, "workspace-has-members")
    assert db_state(team.workspace) == before


def test_api_workspaces_delete_former_members_do_not_block(team):
    _alone(team)
    MemberFactory(workspace=team.workspace, inactive=True)
    assert team.client("owner").delete(ws_url(team.workspace)).status_code == 204


def test_api_workspaces_delete_personal_workspace_is_409(team):
    owner = team.user("non_member")
    workspace = WorkspaceFactory(owner=owner, personal=True)
    before = db_state(workspace)
    assert_problem(client_for(owner).delete(ws_url(workspace)), 409, "personal-workspace")
    assert db_state(workspace) == before


def test_api_workspaces_delete_other_workspaces_untouched(team):
    _alone(team)
    other = WorkspaceFactory(owner=team.user("owner"))
    team.client("owner").delete(ws_url(team.workspace))
    assert Workspace.objects.get(pk=other.pk).deleted_at is None


@pytest.mark.parametrize("workspace_id", ["zzz", MISSING_ID])
def test_api_workspaces_delete_malformed_or_unknown_id_is_404(team, workspace_id):
    assert_problem(team.client("owner").delete(ws_url(workspace_id)), 404, "not-found")
