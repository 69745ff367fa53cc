"""The existing web client's workspace and member calls (SPEC §3.9), replayed as its code sends them:
`GET workspaces` (reads `items`), `PUT workspaces/{id}`, `GET workspaces/{id}/members` (reads `data` and the
member aliases), `PATCH .../members/{user_id}/role`, `POST .../members` and `GET users/me/workspaces`."""

import pytest
from django.utils import timezone

from accounts.models import User
from sync.models import SyncLog
from workspaces.models import Invitation, Workspace
from workspaces.tests.factories import MemberFactory, WorkspaceFactory
from workspaces.tests.helpers import (
    INVITATION_CREATED_FIELDS,
    MEMBER_FIELDS,
    MISSING_ID,
    ROLE_FLAGS,
    WORKSPACE_DETAIL_FIELDS,
    WORKSPACE_FIELDS,
    actor_params,
    assert_problem,
    assert_validation,
    db_state,
    is_timestamp,
    last_seq,
    sync_entries,
    ws_url,
)

pytestmark = pytest.mark.django_db

MEMBER_ALIASES = {"id", "workspace_id", "username", "full_name", "status", "granted_at"}
SLUG = {401: "authentication-required", 403: "permission-denied", 404: "not-found", 409: "cannot-change-owner"}
MEMBERS_READ = {
    "owner": 200,
    "admin": 200,
    "editor": 200,
    "commenter": 200,
    "viewer": 200,
    "non_member": 404,
    "anonymous": 401,
}
MANAGE = {
    "owner": 200,
    "admin": 403,
    "editor": 403,
    "commenter": 403,
    "viewer": 403,
    "non_member": 404,
    "anonymous": 401,
}
INVITE = {
    "owner": 201,
    "admin": 201,
    "editor": 403,
    "commenter": 403,
    "viewer": 403,
    "non_member": 404,
    "anonymous": 401,
}
CHANGE_ROLE = {
    "owner": 200,
    "admin": 200,
    "editor": 403,
    "commenter": 403,
    "viewer": 403,
    "non_member": 404,
    "anonymous": 401,
}


def _role_url(workspace, user_id) -> str:
    return ws_url(workspace, f"/members/{user_id}/role")


# GET workspaces: WorkspaceService.listWorkspaces reads `items`.


@pytest.mark.parametrize("actor", ["owner", "viewer", "non_member"])
def test_client_api_workspaces_list_items_mirror_workspaces(team, actor):
    WorkspaceFactory(name="Someone else's")
    body = team.client(actor).get("/api/v1/workspaces").json()
    assert body["items"] == body["workspaces"]
    if actor == "non_member":
        assert body["items"] == [] and body["total"] == 0
        return
    [row] = body["items"]
    assert set(row) == WORKSPACE_FIELDS
    assert row["id"] == str(team.workspace.pk) and row["name"] == "Team Space" and row["role"] == actor
    assert is_timestamp(row["created_at"]) and is_timestamp(row["updated_at"])


def test_client_api_workspaces_list_items_follow_the_page(team):
    for name in ("B", "C"):
        WorkspaceFactory(owner=team.user("owner"), name=name)
    body = team.client("owner").get("/api/v1/workspaces?limit=1&offset=1").json()
    assert [w["name"] for w in body["items"]] == ["C"] == [w["name"] for w in body["workspaces"]]
    assert body["total"] == 3


# PUT workspaces/{id}: BackendWorkspaceService.updateWorkspace sends {name, description}.


@pytest.mark.parametrize("actor", actor_params(MANAGE))
def test_client_api_workspaces_put_every_actor(team, actor):
    before = db_state(team.workspace)
    response = team.client(actor).put(
        ws_url(team.workspace), {"name": "Renamed", "description": "From the client"}, format="json"
    )
    expected = MANAGE[actor]
    if expected != 200:
        assert_problem(response, expected, SLUG[expected])
        assert db_state(team.workspace) == before
        return
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == WORKSPACE_DETAIL_FIELDS
    assert (body["name"], body["description"]) == ("Renamed", "From the client")
    stored = Workspace.objects.get(pk=team.workspace.pk)
    assert (stored.name, stored.description) == ("Renamed", "From the client")


def test_client_api_workspaces_put_merges_like_patch(team):
    Workspace.objects.filter(pk=team.workspace.pk).update(description="kept", color="#112233")
    seq = last_seq(team.workspace)
    response = team.client("owner").put(
        ws_url(team.workspace), {"name": "Only the name", "settings": {"ai_enabled": False}}, format="json"
    )
    assert response.status_code == 200, response.json()
    stored = Workspace.objects.get(pk=team.workspace.pk)
    assert (stored.name, stored.description, stored.color) == ("Only the name", "kept", "#112233")
    assert stored.settings["ai_enabled"] is False and stored.settings["default_permissions"] == "editor"
    [entry] = sync_entries(team.workspace, after=seq)
    assert (entry.entity_type, entry.operation) == (SyncLog.EntityType.WORKSPACE, "update")


def test_client_api_workspaces_put_bad_input_is_400(team):
    before = db_state(team.workspace)
    response = team.client("owner").put(ws_url(team.workspace), {"name": "", "color": "green"}, format="json")
    assert_validation(response, "name", "color")
    assert db_state(team.workspace) == before


def test_client_api_workspaces_put_unknown_workspace_is_404(team):
    response = team.client("owner").put(ws_url(MISSING_ID), {"name": "x"}, format="json")
    assert_problem(response, 404, "not-found")


# GET workspaces/{id}/members: workspaceMembersClient.listMembers reads {data, total, workspace_id}.


@pytest.mark.parametrize("actor", actor_params(MEMBERS_READ))
def test_client_api_workspaces_members_list_every_actor(team, actor):
    response = team.client(actor).get(ws_url(team.workspace, "/members"))
    expected = MEMBERS_READ[actor]
    if expected != 200:
        assert_problem(response, expected, SLUG[expected])
        return
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"members", "data", "total", "workspace_id"}
    assert body["data"] == body["members"] and body["total"] == 5
    assert body["workspace_id"] == str(team.workspace.pk)
    rows = {row["role"]: row for row in body["data"]}
    for role, row in rows.items():
        user, member = team.user(role), team.member(role)
        assert set(row) == MEMBER_FIELDS | MEMBER_ALIASES
        assert row["id"] == str(member.pk) and row["workspace_id"] == str(team.workspace.pk)
        assert row["user_id"] == str(user.pk) and row["email"] == user.email
        assert row["full_name"] == user.display_name and row["username"] == user.username
        assert row["status"] == "active"
        assert row["granted_at"] == row["joined_at"] and is_timestamp(row["granted_at"])
    # useWorkspacePermissions finds the caller by user_id and reads its role.
    assert rows[actor]["user_id"] == str(team.user(actor).pk)


def test_client_api_workspaces_members_list_deleted_account(team):
    User.objects.filter(pk=team.user("commenter").pk).update(deleted_at=timezone.now(), username="gone")
    rows = {r["role"]: r for r in team.client("owner").get(ws_url(team.workspace, "/members")).json()["data"]}
    assert rows["commenter"]["full_name"] == "Deleted user"
    assert rows["commenter"]["username"] is None and rows["commenter"]["email"] is None


def test_client_api_workspaces_members_list_pages_data_too(team):
    body = team.client("owner").get(ws_url(team.workspace, "/members") + "?limit=2&offset=1").json()
    assert len(body["data"]) == 2 and body["data"] == body["members"] and body["total"] == 5


# PATCH workspaces/{id}/members/{user_id}/role: workspaceMembersClient.changeMemberRole sends {role}.


@pytest.fixture
def target(team):
    """A viewer who is none of the actors."""
    return MemberFactory(workspace=team.workspace, role="viewer", invited_by=team.user("owner"))


@pytest.mark.parametrize("actor", actor_params(CHANGE_ROLE))
def test_client_api_workspaces_change_role_every_actor(team, target, actor):
    before = db_state(team.workspace)
    seq = last_seq(team.workspace)
    response = team.client(actor).patch(_role_url(team.workspace, target.user_id), {"role": "editor"}, format="json")
    expected = CHANGE_ROLE[actor]
    if expected != 200:
        assert_problem(response, expected, SLUG[expected])
        assert db_state(team.workspace) == before
        return
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == MEMBER_FIELDS | MEMBER_ALIASES
    assert body["user_id"] == str(target.user_id) and body["role"] == "editor" and body["status"] == "active"
    assert body["id"] == str(target.pk) and body["workspace_id"] == str(team.workspace.pk)
    assert body["permissions"] == ROLE_FLAGS["editor"]
    target.refresh_from_db()
    assert target.role == "editor"
    [entry] = sync_entries(team.workspace, after=seq)
    assert (entry.entity_type, entry.operation, entry.entity_id) == (
        SyncLog.EntityType.MEMBER,
        "update",
        target.user_id,
    )


def test_client_api_workspaces_change_role_member_means_editor(team, target):
    response = team.client("owner").patch(_role_url(team.workspace, target.user_id), {"role": "member"}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "editor"
    target.refresh_from_db()
    assert target.role == "editor"


def test_client_api_workspaces_change_role_admin_cannot_make_admins(team, target):
    before = db_state(team.workspace)
    response = team.client("admin").patch(_role_url(team.workspace, target.user_id), {"role": "admin"}, format="json")
    assert_problem(response, 403, "permission-denied")
    assert db_state(team.workspace) == before


def test_client_api_workspaces_change_role_of_the_owner_is_409(team):
    response = team.client("owner").patch(
        _role_url(team.workspace, team.user("owner").pk), {"role": "admin"}, format="json"
    )
    assert_problem(response, 409, "cannot-change-owner")


@pytest.mark.parametrize("payload", [{"role": "owner"}, {"role": "boss"}, {"role": 3}, {}])
def test_client_api_workspaces_change_role_bad_role_is_400(team, target, payload):
    before = db_state(team.workspace)
    response = team.client("owner").patch(_role_url(team.workspace, target.user_id), payload, format="json")
    assert_validation(response, "role")
    assert db_state(team.workspace) == before


@pytest.mark.parametrize("user_id", [MISSING_ID, "not-a-uuid"])
def test_client_api_workspaces_change_role_unknown_member_is_404(team, user_id):
    response = team.client("owner").patch(_role_url(team.workspace, user_id), {"role": "viewer"}, format="json")
    assert_problem(response, 404, "not-found")


def test_client_api_workspaces_change_role_other_workspace_is_404(team, target):
    elsewhere = WorkspaceFactory(owner=team.user("non_member"))
    response = team.client("non_member").patch(_role_url(elsewhere, target.user_id), {"role": "viewer"}, format="json")
    assert_problem(response, 404, "not-found")
    target.refresh_from_db()
    assert target.role == "viewer"


# POST workspaces/{id}/members: {email, role} invites (WorkspaceService.addMember); {user_id, role} is refused
# (InviteMemberDialog through workspaceMembersClient.addMember).


@pytest.mark.parametrize("actor", actor_params(INVITE))
def test_client_api_workspaces_add_member_by_email_every_actor(
    team, actor, mailoutbox, django_capture_on_commit_callbacks
):
    before = db_state(team.workspace)
    with django_capture_on_commit_callbacks(execute=True):
        response = team.client(actor).post(
            ws_url(team.workspace, "/members"), {"email": "New@Example.com", "role": "member"}, format="json"
        )
    expected = INVITE[actor]
    if expected != 201:
        assert_problem(response, expected, SLUG[expected])
        assert db_state(team.workspace) == before and mailoutbox == []
        return
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == INVITATION_CREATED_FIELDS
    assert (body["email"], body["role"], body["status"]) == ("new@example.com", "editor", "pending")
    invitation = Invitation.objects.get(pk=body["invitation_id"])
    assert (invitation.workspace, invitation.email, invitation.role, invitation.invited_by) == (
        team.workspace,
        "new@example.com",
        "editor",
        team.user(actor),
    )
    assert [m.to for m in mailoutbox] == [["new@example.com"]] and body["token"] in mailoutbox[0].body
    # Nobody joined yet: the invitee accepts the invitation.
    assert db_state(team.workspace)["members"] == before["members"]


@pytest.mark.parametrize(("sent", "stored"), [("viewer", "viewer"), ("admin", "admin"), (None, "editor")])
def test_client_api_workspaces_add_member_roles(team, sent, stored):
    payload = {"email": "someone@example.com", **({"role": sent} if sent else {})}
    response = team.client("owner").post(ws_url(team.workspace, "/members"), payload, format="json")
    assert response.status_code == 201, response.json()
    assert Invitation.objects.get(pk=response.json()["invitation_id"]).role == stored


def test_client_api_workspaces_add_member_admin_cannot_invite_admins(team):
    before = db_state(team.workspace)
    response = team.client("admin").post(
        ws_url(team.workspace, "/members"), {"email": "x@example.com", "role": "admin"}, format="json"
    )
    assert_problem(response, 403, "permission-denied")
    assert db_state(team.workspace) == before


def test_client_api_workspaces_add_member_existing_member_is_409(team):
    response = team.client("owner").post(
        ws_url(team.workspace, "/members"), {"email": "viewer@example.com", "role": "editor"}, format="json"
    )
    assert_problem(response, 409, "already-member")


def test_client_api_workspaces_add_member_by_user_id_is_400(team):
    before = db_state(team.workspace)
    response = team.client("owner").post(
        ws_url(team.workspace, "/members"),
        {"user_id": str(team.user("non_member").pk), "role": "viewer"},
        format="json",
    )
    body = assert_validation(response, "user_id")
    assert "invit" in body["detail"] and "email" in body["detail"]
    assert db_state(team.workspace) == before


def test_client_api_workspaces_add_member_by_user_id_needs_the_invite_right_first(team):
    response = team.client("viewer").post(
        ws_url(team.workspace, "/members"), {"user_id": str(team.user("non_member").pk)}, format="json"
    )
    assert_problem(response, 403, "permission-denied")


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "email"), ({"email": "not-an-email"}, "email"), ({"email": "a@example.com", "role": "owner"}, "role")],
)
def test_client_api_workspaces_add_member_bad_input_is_400(team, payload, field):
    before = db_state(team.workspace)
    response = team.client("owner").post(ws_url(team.workspace, "/members"), payload, format="json")
    assert_validation(response, field)
    assert db_state(team.workspace) == before


def test_client_api_workspaces_add_member_personal_workspace_is_409(team):
    personal = WorkspaceFactory(owner=team.user("non_member"), personal=True)
    response = team.client("non_member").post(
        ws_url(personal, "/members"), {"email": "x@example.com", "role": "member"}, format="json"
    )
    assert_problem(response, 409, "personal-workspace")


# GET users/me/workspaces: useUserWorkspaces reads data[].id and data[].role.


@pytest.mark.parametrize("actor", ["owner", "admin", "viewer", "non_member"])
def test_client_api_workspaces_user_workspaces(team, actor):
    WorkspaceFactory(name="Someone else's")
    response = team.client(actor).get("/api/v1/users/me/workspaces")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"data", "total"}
    if actor == "non_member":
        assert body == {"data": [], "total": 0}
        return
    [row] = body["data"]
    assert body["total"] == 1
    assert set(row) == WORKSPACE_FIELDS | {"owner_id"}
    assert (row["id"], row["name"], row["slug"]) == (str(team.workspace.pk), "Team Space", team.workspace.slug)
    assert row["role"] == actor and row["owner_id"] == str(team.user("owner").pk)
    assert (row["member_count"], row["document_count"]) == (5, 0)
    assert is_timestamp(row["created_at"]) and is_timestamp(row["updated_at"])


def test_client_api_workspaces_user_workspaces_lists_every_membership(team):
    WorkspaceFactory(owner=team.user("viewer"), name="Mine", personal=True)
    body = team.client("viewer").get("/api/v1/users/me/workspaces").json()
    assert body["total"] == 2
    assert [(w["name"], w["role"]) for w in body["data"]] == [("Mine", "owner"), ("Team Space", "viewer")]


def test_client_api_workspaces_user_workspaces_anonymous_is_401(team):
    assert_problem(team.client("anonymous").get("/api/v1/users/me/workspaces"), 401, "authentication-required")


def test_client_api_workspaces_user_workspaces_bad_limit_is_400(team):
    assert_validation(team.client("owner").get("/api/v1/users/me/workspaces?limit=0"), "limit")
