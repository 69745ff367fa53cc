"""PATCH workspaces/{id}: needs the effective `can_manage_workspace` flag (owner; admin only by override)."""

import pytest

from sync.models import SyncLog
from workspaces.models import Workspace, WorkspaceMember
from workspaces.tests.factories import WorkspaceFactory
from workspaces.tests.helpers import (
    DEFAULT_SETTINGS,
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
    "owner": 200,
    "admin": 403,
    "editor": 403,
    "commenter": 403,
    "viewer": 403,
    "non_member": 404,
    "anonymous": 401,
}
SLUG = {403: "permission-denied", 404: "not-found", 401: "authentication-required"}


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_workspaces_update_every_actor(team, actor):
    before = db_state(team.workspace)
    response = team.client(actor).patch(ws_url(team.workspace), {"name": "Renamed", "color": "#00ff00"}, format="json")
    expected = OUTCOME[actor]
    if expected != 200:
        assert_problem(response, expected, SLUG[expected])
        assert db_state(team.workspace) == before
        return
    assert response.status_code == 200
    body = response.json()
    assert set(body) == WORKSPACE_DETAIL_FIELDS
    assert body["name"] == "Renamed" and body["color"] == "#00ff00"
    assert body["role"] == "owner" and body["permissions"] == ROLE_FLAGS["owner"]
    assert body["owner"] == user_summary(team.user("owner")) and body["member_count"] == 5
    stored = Workspace.objects.get(pk=team.workspace.pk)
    assert (stored.name, stored.color) == ("Renamed", "#00ff00")


def test_api_workspaces_update_admin_with_manage_override_is_allowed(team):
    member = team.member("admin")
    member.permissions = {"can_manage_workspace": True}
    member.save()
    response = team.client("admin").patch(ws_url(team.workspace), {"description": "by admin"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "admin" and body["permissions"]["can_manage_workspace"] is True
    assert Workspace.objects.get(pk=team.workspace.pk).description == "by admin"


@pytest.mark.parametrize("role", ["editor", "commenter", "viewer"])
def test_api_workspaces_update_stray_manage_override_on_lower_roles_grants_nothing(team, role):
    """Only admins can hold a manage grant; one written around the services into a lower role's row is ignored."""
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user(role)).update(
        permissions={"can_manage_workspace": True}
    )
    before = db_state(team.workspace)
    response = team.client(role).patch(ws_url(team.workspace), {"name": "x"}, format="json")
    assert_problem(response, 403, "permission-denied")
    assert db_state(team.workspace) == before


def test_api_workspaces_update_owner_with_revoked_manage_override_keeps_the_right(team):
    member = team.member("owner")
    member.permissions = {"can_manage_workspace": False}
    member.save()
    assert team.client("owner").patch(ws_url(team.workspace), {"icon": "🚀"}, format="json").status_code == 200


def test_api_workspaces_update_settings_are_merged(team):
    client = team.client("owner")
    client.patch(ws_url(team.workspace), {"settings": {"ai_enabled": False, "custom": 1}}, format="json")
    response = client.patch(ws_url(team.workspace), {"settings": {"allow_guest_access": True}}, format="json")
    assert response.status_code == 200
    expected = {**DEFAULT_SETTINGS, "ai_enabled": False, "custom": 1, "allow_guest_access": True}
    assert response.json()["settings"] == expected
    assert Workspace.objects.get(pk=team.workspace.pk).settings == expected


def test_api_workspaces_update_blank_optional_fields_clear_them(team):
    Workspace.objects.filter(pk=team.workspace.pk).update(description="old", icon="x", color="#000000")
    response = team.client("owner").patch(
        ws_url(team.workspace), {"description": "", "icon": "", "color": ""}, format="json"
    )
    assert response.status_code == 200
    stored = Workspace.objects.get(pk=team.workspace.pk)
    assert (stored.description, stored.icon, stored.color) == ("", "", "")


def test_api_workspaces_update_writes_one_sync_entry_with_changed_fields_only(team):
    seq = last_seq(team.workspace)
    team.client("owner").patch(ws_url(team.workspace), {"name": "New", "icon": ""}, format="json")
    [entry] = sync_entries(team.workspace, after=seq)
    assert (entry.seq, entry.entity_type, entry.operation) == (seq + 1, SyncLog.EntityType.WORKSPACE, "update")
    assert entry.entity_id == team.workspace.pk and entry.changed_by == team.user("owner")
    assert entry.changes == {"old": {"name": "Team Space"}, "new": {"name": "New"}}
    assert entry.data["name"] == "New" and entry.data["id"] == str(team.workspace.pk)


def test_api_workspaces_update_without_change_writes_no_sync_entry(team):
    seq = last_seq(team.workspace)
    response = team.client("owner").patch(ws_url(team.workspace), {"name": "Team Space"}, format="json")
    assert response.status_code == 200
    assert last_seq(team.workspace) == seq and sync_entries(team.workspace, after=seq) == []


def test_api_workspaces_update_ignores_read_only_and_unknown_fields(team):
    payload = {
        "id": MISSING_ID,
        "slug": "hijack",
        "is_personal": True,
        "member_limit": 500,
        "storage_used_bytes": 5,
        "sync_seq": 99,
        "owner": str(team.user("admin").pk),
        "role": "viewer",
        "unknown": True,
    }
    before = db_state(team.workspace)
    response = team.client("owner").patch(ws_url(team.workspace), payload, format="json")
    assert response.status_code == 200
    after = db_state(team.workspace)
    assert after["workspace"] | {"updated_at": None} == before["workspace"] | {"updated_at": None}
    assert after["members"] == before["members"] and after["sync"] == before["sync"]


def test_api_workspaces_update_personal_workspace_by_its_owner(team):
    workspace = WorkspaceFactory(owner=team.user("non_member"), personal=True)
    response = client_for(team.user("non_member")).patch(ws_url(workspace), {"name": "Mine"}, format="json")
    assert response.status_code == 200 and response.json()["is_personal"] is True


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": 7}, "name"),
        ({"name": "n" * 256}, "name"),
        ({"description": "d" * 5001}, "description"),
        ({"description": None}, "description"),
        ({"icon": "i" * 51}, "icon"),
        ({"icon": False}, "icon"),
        ({"color": "blue"}, "color"),
        ({"color": "#abc"}, "color"),
        ({"color": "#abcdeg"}, "color"),
        ({"settings": None}, "settings"),
        ({"settings": "x"}, "settings"),
        ({"settings": {"default_permissions": "owner"}}, "settings.default_permissions"),
        ({"settings": {"require_invitation": "true"}}, "settings.require_invitation"),
        ({"settings": {"ai_enabled": None}}, "settings.ai_enabled"),
        ({"name": "ok", "color": "nope"}, "color"),
    ],
)
def test_api_workspaces_update_bad_input_is_400_and_changes_nothing(team, payload, field):
    before = db_state(team.workspace)
    assert_validation(team.client("owner").patch(ws_url(team.workspace), payload, format="json"), field)
    assert db_state(team.workspace) == before


@pytest.mark.parametrize("actor", ["editor", "non_member"])
def test_api_workspaces_update_refusal_comes_before_validation(team, actor):
    response = team.client(actor).patch(ws_url(team.workspace), {"name": ""}, format="json")
    assert response.status_code == {"editor": 403, "non_member": 404}[actor]


@pytest.mark.parametrize("workspace_id", ["nope", MISSING_ID])
def test_api_workspaces_update_malformed_or_unknown_id_is_404(team, workspace_id):
    assert_problem(team.client("owner").patch(ws_url(workspace_id), {"name": "x"}, format="json"), 404, "not-found")


def test_api_workspaces_update_malformed_json_is_invalid_json(team):
    before = db_state(team.workspace)
    response = team.client("owner").patch(ws_url(team.workspace), data="{nope", content_type="application/json")
    assert_problem(response, 400, "invalid-json")
    assert db_state(team.workspace) == before


def test_api_workspaces_update_post_is_405(team):
    # PUT is the existing client's alias of PATCH (SPEC §3.9); other methods stay refused.
    response = team.client("owner").post(ws_url(team.workspace), {"name": "x"}, format="json")
    assert_problem(response, 405, "method-not-allowed")


def test_api_workspaces_update_form_body_is_415(team):
    before = db_state(team.workspace)
    response = team.client("owner").patch(
        ws_url(team.workspace), "name=x", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415, "unsupported-media-type")
    assert db_state(team.workspace) == before
