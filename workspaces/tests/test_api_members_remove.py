"""DELETE workspaces/{id}/members/{user_id}: removing a member, or leaving when the id is the caller's own."""

import pytest

from sync.models import SyncLog
from workspaces.models import WorkspaceMember
from workspaces.tests.factories import MemberFactory, WorkspaceFactory
from workspaces.tests.helpers import (
    MEMBER_ROLES,
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

REMOVE_OUTCOME = {
    "owner": (204, None),
    "admin": (204, None),
    "editor": (403, "permission-denied"),
    "commenter": (403, "permission-denied"),
    "viewer": (403, "permission-denied"),
    "non_member": (404, "not-found"),
    "anonymous": (401, "authentication-required"),
}
LEAVE_OUTCOME = {
    "owner": (409, "cannot-remove-owner"),
    "admin": (204, None),
    "editor": (204, None),
    "commenter": (204, None),
    "viewer": (204, None),
    "non_member": (404, "not-found"),
    "anonymous": (401, "authentication-required"),
}


def _remove(client, workspace, user_id):
    return client.delete(ws_url(workspace, f"/members/{user_id}"))


def _is_active(workspace, user) -> bool:
    return WorkspaceMember.objects.get(workspace=workspace, user=user).is_active


@pytest.fixture
def target(team):
    """A commenter who is none of the actors."""
    return MemberFactory(workspace=team.workspace, role="commenter")


@pytest.mark.parametrize("actor", actor_params(REMOVE_OUTCOME))
def test_api_members_remove_every_actor(team, target, actor):
    before = db_state(team.workspace)
    response = _remove(team.client(actor), team.workspace, target.user_id)
    status, slug = REMOVE_OUTCOME[actor]
    if status != 204:
        assert_problem(response, status, slug)
        assert db_state(team.workspace) == before
        return
    assert response.status_code == 204 and response.content == b""
    assert not _is_active(team.workspace, target.user)


@pytest.mark.parametrize("actor", actor_params(LEAVE_OUTCOME))
def test_api_members_remove_self_is_leaving_every_actor(team, actor):
    user = team.user(actor)
    before = db_state(team.workspace)
    response = _remove(team.client(actor), team.workspace, user.pk if user else MISSING_ID)
    status, slug = LEAVE_OUTCOME[actor]
    if status != 204:
        assert_problem(response, status, slug)
        assert db_state(team.workspace) == before
        return
    assert response.status_code == 204
    assert not _is_active(team.workspace, user)
    # Gone: the workspace is now hidden from the former member.
    assert_problem(client_for(user).get(ws_url(team.workspace)), 404, "not-found")


@pytest.mark.parametrize("actor", MEMBER_ROLES)
def test_api_members_remove_owner_is_409_whoever_asks(team, actor):
    """SPEC §10.21: removing the owner row is 409 cannot-remove-owner, whoever asks."""
    before = db_state(team.workspace)
    response = _remove(team.client(actor), team.workspace, team.user("owner").pk)
    assert_problem(response, 409, "cannot-remove-owner")
    assert db_state(team.workspace) == before


@pytest.mark.parametrize("actor", ["non_member", "anonymous"])
def test_api_members_remove_owner_by_outsiders_reveals_nothing(team, actor):
    expected = {"non_member": (404, "not-found"), "anonymous": (401, "authentication-required")}[actor]
    assert_problem(_remove(team.client(actor), team.workspace, team.user("owner").pk), *expected)


@pytest.mark.parametrize("role", ["admin", "editor", "commenter", "viewer"])
def test_api_members_remove_owner_removes_any_other_role(team, role):
    assert _remove(team.client("owner"), team.workspace, team.user(role).pk).status_code == 204
    assert not _is_active(team.workspace, team.user(role))


@pytest.mark.parametrize("role", ["editor", "commenter", "viewer"])
def test_api_members_remove_admin_removes_members_ranked_below_admin(team, role):
    assert _remove(team.client("admin"), team.workspace, team.user(role).pk).status_code == 204
    assert not _is_active(team.workspace, team.user(role))


def test_api_members_remove_admin_cannot_remove_another_admin(team):
    other_admin = MemberFactory(workspace=team.workspace, admin=True)
    before = db_state(team.workspace)
    assert_problem(_remove(team.client("admin"), team.workspace, other_admin.user_id), 403, "permission-denied")
    assert db_state(team.workspace) == before


@pytest.mark.parametrize("actor", ["editor", "commenter", "viewer"])
def test_api_members_remove_lower_roles_cannot_remove_others_even_with_invite_override(team, actor):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user(actor)).update(
        permissions={"can_invite_members": True}
    )
    other = "commenter" if actor == "viewer" else "viewer"
    before = db_state(team.workspace)
    assert_problem(_remove(team.client(actor), team.workspace, team.user(other).pk), 403, "permission-denied")
    assert db_state(team.workspace) == before


def test_api_members_remove_writes_a_member_delete_sync_entry(team, target):
    seq = last_seq(team.workspace)
    _remove(team.client("admin"), team.workspace, target.user_id)
    [entry] = sync_entries(team.workspace, after=seq)
    assert (entry.seq, entry.entity_type, entry.operation) == (seq + 1, SyncLog.EntityType.MEMBER, "delete")
    assert entry.entity_id == target.user_id and entry.changed_by == team.user("admin")
    assert entry.changes == {"old": {"is_active": True}, "new": {"is_active": False}}
    assert entry.data["is_active"] is False and entry.data["role"] == "commenter"


def test_api_members_remove_leaving_writes_a_sync_entry_by_the_leaver(team):
    seq = last_seq(team.workspace)
    _remove(team.client("viewer"), team.workspace, team.user("viewer").pk)
    [entry] = sync_entries(team.workspace, after=seq)
    assert entry.operation == "delete" and entry.changed_by == team.user("viewer")


def test_api_members_remove_updates_lists_and_counts(team, target):
    client = team.client("owner")
    _remove(client, team.workspace, target.user_id)
    members = client.get(ws_url(team.workspace, "/members")).json()
    assert members["total"] == 5 and str(target.user_id) not in {m["user_id"] for m in members["members"]}
    assert client.get(ws_url(team.workspace)).json()["member_count"] == 5


def test_api_members_remove_twice_is_404(team, target):
    assert _remove(team.client("owner"), team.workspace, target.user_id).status_code == 204
    seq = last_seq(team.workspace)
    assert_problem(_remove(team.client("owner"), team.workspace, target.user_id), 404, "not-found")
    assert last_seq(team.workspace) == seq


def test_api_members_remove_removed_member_loses_access(team):
    viewer_client = team.client("viewer")
    assert viewer_client.get(ws_url(team.workspace)).status_code == 200
    _remove(team.client("owner"), team.workspace, team.user("viewer").pk)
    assert_problem(viewer_client.get(ws_url(team.workspace)), 404, "not-found")
    assert_problem(viewer_client.get(ws_url(team.workspace, "/members")), 404, "not-found")


def test_api_members_remove_personal_workspace_owner_cannot_leave(team):
    owner = team.user("non_member")
    workspace = WorkspaceFactory(owner=owner, personal=True)
    assert_problem(_remove(client_for(owner), workspace, owner.pk), 409, "cannot-remove-owner")
    assert _is_active(workspace, owner)


@pytest.mark.parametrize("kind", ["malformed", "unknown", "non_member", "other_workspace"])
def test_api_members_remove_unknown_member_is_404(team, kind):
    user_id = {
        "malformed": "12",
        "unknown": MISSING_ID,
        "non_member": lambda: team.user("non_member").pk,
        "other_workspace": lambda: MemberFactory(workspace=WorkspaceFactory()).user_id,
    }[kind]
    user_id = user_id() if callable(user_id) else user_id
    before = db_state(team.workspace)
    assert_problem(_remove(team.client("owner"), team.workspace, user_id), 404, "not-found")
    assert db_state(team.workspace) == before


@pytest.mark.parametrize("workspace_id", ["nope", MISSING_ID])
def test_api_members_remove_malformed_or_unknown_workspace_is_404(team, workspace_id):
    assert_problem(_remove(team.client("owner"), workspace_id, team.user("viewer").pk), 404, "not-found")
