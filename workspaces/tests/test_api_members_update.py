"""PATCH workspaces/{id}/members/{user_id}: role and override changes within SPEC §2.2 / §2.3."""

import pytest

from sync.models import SyncLog
from workspaces.models import WorkspaceMember
from workspaces.tests.factories import MemberFactory, WorkspaceFactory
from workspaces.tests.helpers import (
    MEMBER_FIELDS,
    MISSING_ID,
    ROLE_FLAGS,
    actor_params,
    assert_problem,
    assert_validation,
    client_for,
    db_state,
    flags,
    is_timestamp,
    last_seq,
    sync_entries,
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

OWN_ROW_OUTCOME = {
    "owner": (409, "cannot-change-owner"),
    "admin": (403, "permission-denied"),
    "editor": (403, "permission-denied"),
    "commenter": (403, "permission-denied"),
    "viewer": (403, "permission-denied"),
    "non_member": (404, "not-found"),
    "anonymous": (401, "authentication-required"),
}


def _patch(client, workspace, user_id, **payload):
    return client.patch(ws_url(workspace, f"/members/{user_id}"), payload, format="json")


@pytest.fixture
def target(team):
    """A commenter who is none of the actors."""
    return MemberFactory(workspace=team.workspace, role="commenter", invited_by=team.user("owner"))


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_members_update_role_every_actor(team, target, actor):
    before = db_state(team.workspace)
    response = _patch(team.client(actor), team.workspace, target.user_id, role="editor")
    status, slug = OUTCOME[actor]
    if status != 200:
        assert_problem(response, status, slug)
        assert db_state(team.workspace) == before
        return
    assert response.status_code == 200, response.json()
    body = response.json()
    assert set(body) == MEMBER_FIELDS
    assert body["user_id"] == str(target.user_id) and body["role"] == "editor"
    assert body["permissions"] == ROLE_FLAGS["editor"]
    assert body["display_name"] == target.user.display_name and body["email"] == target.user.email
    assert body["is_active"] is True and is_timestamp(body["joined_at"])
    target.refresh_from_db()
    assert target.role == "editor"


@pytest.mark.parametrize("actor", actor_params(OWN_ROW_OUTCOME))
def test_api_members_update_own_row_every_actor(team, actor):
    """Nobody changes their own role: the owner row is 409, admins are not ranked below admin, the rest lack the right."""
    user = team.user(actor)
    user_id = user.pk if user else MISSING_ID
    before = db_state(team.workspace)
    response = _patch(team.client(actor), team.workspace, user_id, role="viewer")
    expected = OWN_ROW_OUTCOME[actor]
    assert_problem(response, *expected)
    assert db_state(team.workspace) == before


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("owner", (409, "cannot-change-owner")),
        ("admin", (409, "cannot-change-owner")),
        ("editor", (403, "permission-denied")),
        ("commenter", (403, "permission-denied")),
        ("viewer", (403, "permission-denied")),
        ("non_member", (404, "not-found")),
        ("anonymous", (401, "authentication-required")),
    ],
)
def test_api_members_update_owner_row(team, actor, expected):
    before = db_state(team.workspace)
    response = _patch(team.client(actor), team.workspace, team.user("owner").pk, role="editor")
    assert_problem(response, *expected)
    response = _patch(team.client(actor), team.workspace, team.user("owner").pk, permissions={"can_comment": False})
    assert_problem(response, *expected)
    assert db_state(team.workspace) == before


@pytest.mark.parametrize("role", ["admin", "editor", "commenter", "viewer"])
def test_api_members_update_owner_may_assign_any_non_owner_role(team, target, role):
    response = _patch(team.client("owner"), team.workspace, target.user_id, role=role)
    assert response.status_code == 200
    assert response.json()["role"] == role and response.json()["permissions"] == ROLE_FLAGS[role]
    target.refresh_from_db()
    assert target.role == role


def test_api_members_update_owner_may_demote_an_admin(team):
    response = _patch(team.client("owner"), team.workspace, team.user("admin").pk, role="viewer")
    assert response.status_code == 200 and team.member("admin").role == "viewer"


@pytest.mark.parametrize("role", ["viewer", "commenter", "editor"])
def test_api_members_update_admin_may_assign_roles_up_to_editor(team, target, role):
    assert _patch(team.client("admin"), team.workspace, target.user_id, role=role).status_code == 200
    target.refresh_from_db()
    assert target.role == role


@pytest.mark.parametrize("target_role", ["editor", "commenter", "viewer"])
def test_api_members_update_admin_manages_each_role_below_admin(team, target_role):
    response = _patch(team.client("admin"), team.workspace, team.user(target_role).pk, role="viewer")
    assert response.status_code == 200 and team.member(target_role).role == "viewer"


def test_api_members_update_admin_cannot_promote_to_admin(team, target):
    before = db_state(team.workspace)
    assert_problem(_patch(team.client("admin"), team.workspace, target.user_id, role="admin"), 403, "permission-denied")
    assert db_state(team.workspace) == before


def test_api_members_update_admin_cannot_change_another_admin(team):
    other_admin = MemberFactory(workspace=team.workspace, admin=True)
    before = db_state(team.workspace)
    assert_problem(
        _patch(team.client("admin"), team.workspace, other_admin.user_id, role="viewer"), 403, "permission-denied"
    )
    assert db_state(team.workspace) == before


def test_api_members_update_admin_cannot_set_overrides(team, target):
    """Only the owner sets permission overrides, even on members the admin may otherwise manage."""
    before = db_state(team.workspace)
    for permissions in ({"can_invite_members": True}, {"can_comment": False}, {"can_comment": None}):
        response = _patch(team.client("admin"), team.workspace, target.user_id, permissions=permissions)
        assert_problem(response, 403, "permission-denied")
        response = _patch(team.client("admin"), team.workspace, target.user_id, role="viewer", permissions=permissions)
        assert_problem(response, 403, "permission-denied")
    assert db_state(team.workspace) == before


def test_api_members_update_owner_overrides_are_merged_and_null_removes(team):
    client, user_id = team.client("owner"), team.user("editor").pk
    body = _patch(client, team.workspace, user_id, permissions={"can_delete_documents": True}).json()
    assert body["permissions"] == flags("create", "edit", "delete", "comment")
    body = _patch(client, team.workspace, user_id, permissions={"can_comment": False}).json()
    assert body["permissions"] == flags("create", "edit", "delete")
    assert team.member("editor").permissions == {"can_delete_documents": True, "can_comment": False}
    body = _patch(client, team.workspace, user_id, permissions={"can_delete_documents": None}).json()
    assert body["permissions"] == flags("create", "edit")
    assert team.member("editor").permissions == {"can_comment": False}


def test_api_members_update_override_equal_to_the_default_is_not_stored(team):
    _patch(team.client("owner"), team.workspace, team.user("editor").pk, permissions={"can_create_documents": True})
    assert team.member("editor").permissions == {}


@pytest.mark.parametrize(
    ("role", "flag"),
    [
        ("admin", "can_manage_workspace"),
        ("editor", "can_delete_documents"),
        ("editor", "can_invite_members"),
        ("commenter", "can_invite_members"),
        ("viewer", "can_comment"),
        ("viewer", "can_invite_members"),
    ],
)
def test_api_members_update_owner_grants_within_guard_rails(team, role, flag):
    response = _patch(team.client("owner"), team.workspace, team.user(role).pk, permissions={flag: True})
    assert response.status_code == 200
    assert response.json()["permissions"] == {**ROLE_FLAGS[role], flag: True}
    assert team.member(role).permissions == {flag: True}


@pytest.mark.parametrize("role", ["admin", "editor", "commenter", "viewer"])
@pytest.mark.parametrize(
    "flag",
    [
        "can_create_documents",
        "can_edit_documents",
        "can_delete_documents",
        "can_comment",
        "can_invite_members",
        "can_manage_workspace",
    ],
)
def test_api_members_update_owner_may_revoke_any_flag(team, role, flag):
    response = _patch(team.client("owner"), team.workspace, team.user(role).pk, permissions={flag: False})
    assert response.status_code == 200
    assert response.json()["permissions"] == {**ROLE_FLAGS[role], flag: False}


@pytest.mark.parametrize(
    ("role", "flag"),
    [
        ("editor", "can_manage_workspace"),
        ("commenter", "can_manage_workspace"),
        ("viewer", "can_manage_workspace"),
        ("commenter", "can_create_documents"),
        ("commenter", "can_edit_documents"),
        ("commenter", "can_delete_documents"),
        ("viewer", "can_create_documents"),
        ("viewer", "can_edit_documents"),
        ("viewer", "can_delete_documents"),
    ],
)
def test_api_members_update_grants_outside_guard_rails_are_400(team, role, flag):
    before = db_state(team.workspace)
    response = _patch(team.client("owner"), team.workspace, team.user(role).pk, permissions={flag: True})
    assert_validation(response, f"permissions.{flag}")
    assert db_state(team.workspace) == before


def test_api_members_update_guard_rails_apply_to_the_new_role(team):
    user_id = team.user("editor").pk
    before = db_state(team.workspace)
    response = _patch(
        team.client("owner"), team.workspace, user_id, role="viewer", permissions={"can_edit_documents": True}
    )
    assert_validation(response, "permissions.can_edit_documents")
    assert db_state(team.workspace) == before
    response = _patch(
        team.client("owner"), team.workspace, user_id, role="admin", permissions={"can_manage_workspace": True}
    )
    assert response.status_code == 200 and response.json()["permissions"] == ROLE_FLAGS["owner"]


def test_api_members_update_role_change_drops_overrides_that_no_longer_fit(team):
    client, user_id = team.client("owner"), team.user("editor").pk
    _patch(client, team.workspace, user_id, permissions={"can_delete_documents": True, "can_invite_members": True})
    body = _patch(client, team.workspace, user_id, role="viewer").json()
    # delete cannot be granted to viewers; invite can.
    assert team.member("editor").permissions == {"can_invite_members": True}
    assert body["permissions"] == flags("invite")


def test_api_members_update_writes_a_member_sync_entry(team, target):
    seq = last_seq(team.workspace)
    _patch(
        team.client("owner"), team.workspace, target.user_id, role="viewer", permissions={"can_invite_members": True}
    )
    [entry] = sync_entries(team.workspace, after=seq)
    assert (entry.seq, entry.entity_type, entry.operation) == (seq + 1, SyncLog.EntityType.MEMBER, "update")
    assert entry.entity_id == target.user_id and entry.changed_by == team.user("owner")
    assert entry.changes == {
        "old": {"role": "commenter", "permissions": {}},
        "new": {"role": "viewer", "permissions": {"can_invite_members": True}},
    }
    assert entry.data == {
        "user_id": str(target.user_id),
        "role": "viewer",
        "permissions": {"can_invite_members": True},
        "is_active": True,
    }


def test_api_members_update_without_change_writes_no_sync_entry(team, target):
    seq = last_seq(team.workspace)
    for payload in (
        {},
        {"role": "commenter"},
        {"permissions": {"can_comment": True}},
        {"permissions": {"can_comment": None}},
    ):
        response = _patch(team.client("owner"), team.workspace, target.user_id, **payload)
        assert response.status_code == 200 and response.json()["role"] == "commenter"
    assert last_seq(team.workspace) == seq


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"role": "owner"}, "role"),
        ({"role": "boss"}, "role"),
        ({"role": ""}, "role"),
        ({"role": None}, "role"),
        ({"role": 3}, "role"),
        ({"role": ["editor"]}, "role"),
        ({"permissions": None}, "permissions"),
        ({"permissions": "all"}, "permissions"),
        ({"permissions": ["can_comment"]}, "permissions"),
        ({"permissions": {"can_fly": True}}, "permissions.can_fly"),
        ({"permissions": {"can_comment": "yes"}}, "permissions.can_comment"),
        ({"permissions": {"can_comment": 1}}, "permissions.can_comment"),
        ({"permissions": {"can_comment": {}}}, "permissions.can_comment"),
    ],
)
def test_api_members_update_bad_input_is_400_and_changes_nothing(team, target, payload, field):
    before = db_state(team.workspace)
    assert_validation(_patch(team.client("owner"), team.workspace, target.user_id, **payload), field)
    assert db_state(team.workspace) == before


def test_api_members_update_role_owner_is_400_for_admins_too(team, target):
    assert_validation(_patch(team.client("admin"), team.workspace, target.user_id, role="owner"), "role")


@pytest.mark.parametrize("kind", ["malformed", "unknown", "non_member", "former", "other_workspace"])
def test_api_members_update_unknown_member_is_404(team, kind):
    user_id = {
        "malformed": "not-a-uuid",
        "unknown": MISSING_ID,
        "non_member": lambda: team.user("non_member").pk,
        "former": lambda: MemberFactory(workspace=team.workspace, inactive=True).user_id,
        "other_workspace": lambda: MemberFactory(workspace=WorkspaceFactory()).user_id,
    }[kind]
    user_id = user_id() if callable(user_id) else user_id
    before = db_state(team.workspace)
    assert_problem(_patch(team.client("owner"), team.workspace, user_id, role="viewer"), 404, "not-found")
    assert db_state(team.workspace) == before


@pytest.mark.parametrize("workspace_id", ["bad", MISSING_ID])
def test_api_members_update_malformed_or_unknown_workspace_is_404(team, workspace_id):
    assert_problem(_patch(team.client("owner"), workspace_id, team.user("viewer").pk, role="editor"), 404, "not-found")


def test_api_members_update_new_flags_take_effect_at_once(team):
    """A viewer granted invite can invite (viewers only); revoking it takes the right away again."""
    client = team.client("owner")
    _patch(client, team.workspace, team.user("viewer").pk, permissions={"can_invite_members": True})
    invite = team.client("viewer").post(
        ws_url(team.workspace, "/members/invite"), {"email": "v1@example.com", "role": "viewer"}, format="json"
    )
    assert invite.status_code == 201
    _patch(client, team.workspace, team.user("viewer").pk, permissions={"can_invite_members": None})
    invite = team.client("viewer").post(
        ws_url(team.workspace, "/members/invite"), {"email": "v2@example.com", "role": "viewer"}, format="json"
    )
    assert_problem(invite, 403, "permission-denied")


def test_api_members_update_personal_workspace_owner_row_is_409(team):
    owner = team.user("non_member")
    workspace = WorkspaceFactory(owner=owner, personal=True)
    assert_problem(_patch(client_for(owner), workspace, owner.pk, role="viewer"), 409, "cannot-change-owner")
    assert WorkspaceMember.objects.get(workspace=workspace, user=owner).role == "owner"


def test_api_members_update_form_body_is_415(team, target):
    before = db_state(team.workspace)
    response = team.client("owner").patch(
        ws_url(team.workspace, f"/members/{target.user_id}"),
        "role=viewer",
        content_type="application/x-www-form-urlencoded",
    )
    assert_problem(response, 415, "unsupported-media-type")
    assert db_state(team.workspace) == before
