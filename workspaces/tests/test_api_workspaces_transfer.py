"""POST workspaces/{id}/transfer-ownership: the owner hands the workspace to another active member."""

import pytest

from sync.models import SyncLog
from workspaces.models import Workspace, WorkspaceMember
from workspaces.tests.factories import MemberFactory, WorkspaceFactory
from workspaces.tests.helpers import (
    MISSING_ID,
    ROLE_FLAGS,
    WORKSPACE_DETAIL_FIELDS,
    actor_params,
    assert_problem,
    assert_validation,
    client_for,
    db_state,
    last_seq,
    sync_entries,
    user_summary,
    ws_url,
)

pytestmark = pytest.mark.django_db

OUTCOME = {
    "owner": (200, None),
    "admin": (403, "permission-denied"),
    "editor": (403, "permission-denied"),
    "commenter": (403, "permission-denied"),
    "viewer": (403, "permission-denied"),
    "non_member": (404, "not-found"),
    "anonymous": (401, "authentication-required"),
}


def _transfer(client, workspace, **payload):
    return client.post(ws_url(workspace, "/transfer-ownership"), payload, format="json")


def _roles(workspace) -> dict:
    return dict(WorkspaceMember.objects.filter(workspace=workspace, is_active=True).values_list("user__email", "role"))


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_workspaces_transfer_every_actor(team, actor):
    before = db_state(team.workspace)
    response = _transfer(team.client(actor), team.workspace, new_owner_id=str(team.user("editor").pk))
    if actor != "owner":
        assert_problem(response, *OUTCOME[actor])
        assert db_state(team.workspace) == before
        return
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == WORKSPACE_DETAIL_FIELDS
    # The caller's own view after the transfer: demoted to admin (the default).
    assert body["role"] == "admin" and body["permissions"] == ROLE_FLAGS["admin"]
    assert body["owner"] == user_summary(team.user("editor"))
    assert Workspace.objects.get(pk=team.workspace.pk).owner == team.user("editor")
    assert _roles(team.workspace) == {
        "owner@example.com": "admin",
        "admin@example.com": "admin",
        "editor@example.com": "owner",
        "commenter@example.com": "commenter",
        "viewer@example.com": "viewer",
    }


def test_api_workspaces_transfer_writes_member_and_workspace_sync_entries(team):
    seq = last_seq(team.workspace)
    _transfer(team.client("owner"), team.workspace, new_owner_id=str(team.user("viewer").pk))
    entries = sync_entries(team.workspace, after=seq)
    assert [e.seq for e in entries] == [seq + 1, seq + 2, seq + 3]
    summary = {(e.entity_type, e.entity_id): e for e in entries}
    old_owner = summary[(SyncLog.EntityType.MEMBER, team.user("owner").pk)]
    assert old_owner.changes == {"old": {"role": "owner"}, "new": {"role": "admin"}}
    new_owner = summary[(SyncLog.EntityType.MEMBER, team.user("viewer").pk)]
    assert new_owner.changes == {"old": {"role": "viewer"}, "new": {"role": "owner"}}
    workspace_entry = summary[(SyncLog.EntityType.WORKSPACE, team.workspace.pk)]
    assert workspace_entry.operation == "update"
    assert workspace_entry.changes == {
        "old": {"owner_id": str(team.user("owner").pk)},
        "new": {"owner_id": str(team.user("viewer").pk)},
    }
    assert all(e.operation == "update" and e.changed_by == team.user("owner") for e in entries)


@pytest.mark.parametrize("demote_to", ["admin", "editor", "commenter", "viewer"])
def test_api_workspaces_transfer_demote_current_owner_to(team, demote_to):
    response = _transfer(
        team.client("owner"), team.workspace, new_owner_id=str(team.user("admin").pk), demote_current_owner_to=demote_to
    )
    assert response.status_code == 200
    assert response.json()["role"] == demote_to and response.json()["permissions"] == ROLE_FLAGS[demote_to]
    assert team.member("owner").role == demote_to and team.member("admin").role == "owner"
    assert WorkspaceMember.objects.filter(workspace=team.workspace, role="owner", is_active=True).count() == 1


def test_api_workspaces_transfer_clears_the_new_owners_overrides(team):
    member = team.member("admin")
    member.permissions = {"can_delete_documents": False, "can_manage_workspace": True}
    member.save()
    _transfer(team.client("owner"), team.workspace, new_owner_id=str(team.user("admin").pk))
    assert team.member("admin").permissions == {}
    body = team.client("admin").get(ws_url(team.workspace)).json()
    assert body["role"] == "owner" and body["permissions"] == ROLE_FLAGS["owner"]


def test_api_workspaces_transfer_moves_the_owner_only_rights(team):
    _transfer(team.client("owner"), team.workspace, new_owner_id=str(team.user("commenter").pk))
    # The former owner is now an admin: no second transfer, no delete, no settings.
    assert_problem(
        _transfer(team.client("owner"), team.workspace, new_owner_id=str(team.user("owner").pk)),
        403,
        "permission-denied",
    )
    assert_problem(team.client("owner").delete(ws_url(team.workspace)), 403, "permission-denied")
    assert_problem(
        team.client("owner").patch(ws_url(team.workspace), {"name": "x"}, format="json"), 403, "permission-denied"
    )
    # The new owner has them.
    response = _transfer(team.client("commenter"), team.workspace, new_owner_id=str(team.user("owner").pk))
    assert response.status_code == 200
    assert Workspace.objects.get(pk=team.workspace.pk).owner == team.user("owner")


def test_api_workspaces_transfer_to_a_non_member_is_409(team):
    former = MemberFactory(workspace=team.workspace, inactive=True).user
    for target in (team.user("non_member").pk, former.pk, MISSING_ID):
        before = db_state(team.workspace)
        response = _transfer(team.client("owner"), team.workspace, new_owner_id=str(target))
        assert_problem(response, 409, "not-a-member")
        assert db_state(team.workspace) == before


def test_api_workspaces_transfer_to_a_member_of_another_workspace_is_409(team):
    stranger = MemberFactory(workspace=WorkspaceFactory()).user
    assert_problem(_transfer(team.client("owner"), team.workspace, new_owner_id=str(stranger.pk)), 409, "not-a-member")


def test_api_workspaces_transfer_to_oneself_is_400(team):
    before = db_state(team.workspace)
    assert_validation(
        _transfer(team.client("owner"), team.workspace, new_owner_id=str(team.user("owner").pk)), "new_owner_id"
    )
    assert db_state(team.workspace) == before


def test_api_workspaces_transfer_personal_workspace_is_409(team):
    owner = team.user("non_member")
    workspace = WorkspaceFactory(owner=owner, personal=True)
    response = _transfer(client_for(owner), workspace, new_owner_id=str(team.user("admin").pk))
    assert_problem(response, 409, "personal-workspace")
    assert Workspace.objects.get(pk=workspace.pk).owner == owner


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "new_owner_id"),
        ({"new_owner_id": None}, "new_owner_id"),
        ({"new_owner_id": "not-a-uuid"}, "new_owner_id"),
        ({"new_owner_id": "1234"}, "new_owner_id"),
        ({"new_owner_id": 5}, "new_owner_id"),
        ({"new_owner_id": ["a"]}, "new_owner_id"),
        ({"new_owner_id": "EDITOR", "demote_current_owner_to": "owner"}, "demote_current_owner_to"),
        ({"new_owner_id": "EDITOR", "demote_current_owner_to": "boss"}, "demote_current_owner_to"),
        ({"new_owner_id": "EDITOR", "demote_current_owner_to": None}, "demote_current_owner_to"),
        ({"new_owner_id": "EDITOR", "demote_current_owner_to": 1}, "demote_current_owner_to"),
    ],
)
def test_api_workspaces_transfer_bad_input_is_400_and_changes_nothing(team, payload, field):
    payload = {k: str(team.user("editor").pk) if v == "EDITOR" else v for k, v in payload.items()}
    before = db_state(team.workspace)
    assert_validation(_transfer(team.client("owner"), team.workspace, **payload), field)
    assert db_state(team.workspace) == before


@pytest.mark.parametrize("workspace_id", ["bad", MISSING_ID])
def test_api_workspaces_transfer_malformed_or_unknown_workspace_is_404(team, workspace_id):
    response = _transfer(team.client("owner"), workspace_id, new_owner_id=str(team.user("editor").pk))
    assert_problem(response, 404, "not-found")
