"""POST workspaces: any signed-in caller creates a team workspace it owns."""

import pytest

from accounts.tests.factories import UserFactory
from sync.models import SyncLog
from workspaces.models import Workspace, WorkspaceMember
from workspaces.tests.factories import WorkspaceFactory
from workspaces.tests.helpers import (
    DEFAULT_SETTINGS,
    ROLE_FLAGS,
    WORKSPACE_DETAIL_FIELDS,
    actor_params,
    assert_problem,
    assert_validation,
    client_for,
    is_timestamp,
    sync_entries,
    user_summary,
)

pytestmark = pytest.mark.django_db

OUTCOME = {
    "owner": 201,
    "admin": 201,
    "editor": 201,
    "commenter": 201,
    "viewer": 201,
    "non_member": 201,
    "anonymous": 401,
}

URL = "/api/v1/workspaces"


@pytest.mark.parametrize("actor", actor_params(OUTCOME))
def test_api_workspaces_create_every_actor(team, actor):
    before = Workspace.objects.count()
    response = team.client(actor).post(URL, {"name": "Fresh"}, format="json")
    if actor == "anonymous":
        assert_problem(response, 401, "authentication-required")
        assert Workspace.objects.count() == before
        return
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == WORKSPACE_DETAIL_FIELDS
    creator = team.user(actor)
    workspace = Workspace.objects.get(pk=body["id"])
    assert workspace.owner == creator and workspace.is_team and not workspace.is_personal
    assert body["role"] == "owner" and body["permissions"] == ROLE_FLAGS["owner"]
    assert body["owner"] == user_summary(creator)
    assert body["name"] == "Fresh" and body["slug"] == workspace.slug
    assert body["member_count"] == 1 and body["document_count"] == 0
    assert body["settings"] == DEFAULT_SETTINGS
    assert is_timestamp(body["created_at"])
    [member] = WorkspaceMember.objects.filter(workspace=workspace)
    assert (member.user, member.role, member.is_active, member.permissions) == (creator, "owner", True, {})


def test_api_workspaces_create_all_fields(auth_client, user):
    payload = {
        "name": "Design Team",
        "description": "Where we draw",
        "icon": "🎨",
        "color": "#A1b2C3",
        "settings": {"allow_guest_access": True, "default_permissions": "viewer", "theme": "dark"},
    }
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["name"], body["description"], body["icon"], body["color"]) == (
        "Design Team",
        "Where we draw",
        "🎨",
        "#A1b2C3",
    )
    assert body["slug"] == "design-team"
    # Settings are merged over the defaults; unknown keys are kept.
    assert body["settings"] == {
        **DEFAULT_SETTINGS,
        "allow_guest_access": True,
        "default_permissions": "viewer",
        "theme": "dark",
    }
    stored = Workspace.objects.get(pk=body["id"])
    assert stored.settings == body["settings"]
    assert (stored.storage_used_bytes, stored.member_limit, stored.sync_seq) == (0, 10, 2)


def test_api_workspaces_create_writes_workspace_and_owner_sync_entries(auth_client, user):
    body = auth_client.post(URL, {"name": "Logged"}, format="json").json()
    entries = sync_entries(body["id"])
    assert [(e.seq, e.entity_type, e.operation) for e in entries] == [
        (1, SyncLog.EntityType.WORKSPACE, "create"),
        (2, SyncLog.EntityType.MEMBER, "create"),
    ]
    assert str(entries[0].entity_id) == body["id"] and entries[0].data["name"] == "Logged"
    assert entries[1].entity_id == user.pk and entries[1].data["role"] == "owner"
    assert all(e.changed_by == user for e in entries)


def test_api_workspaces_create_ignores_read_only_and_unknown_fields(auth_client, user):
    payload = {
        "name": "Sneaky",
        "is_personal": True,
        "is_team": False,
        "member_limit": 9999,
        "storage_limit_bytes": 1,
        "id": "11111111-1111-4111-8111-111111111111",
        "owner": "someone",
        "slug": "chosen",
    }
    response = auth_client.post(URL, payload, format="json")
    assert response.status_code == 201
    workspace = Workspace.objects.get(pk=response.json()["id"])
    assert workspace.is_team and not workspace.is_personal
    assert (workspace.member_limit, workspace.storage_limit_bytes, workspace.owner) == (10, 1024**3, user)
    assert workspace.slug == "sneaky" and str(workspace.pk) != payload["id"]


def test_api_workspaces_create_slug_collisions_get_suffixes(auth_client):
    WorkspaceFactory(name="Shared Name")
    slugs = [auth_client.post(URL, {"name": "Shared  name!"}, format="json").json()["slug"] for _ in range(2)]
    assert slugs == ["shared-name-2", "shared-name-3"]


def test_api_workspaces_create_name_without_slug_characters(auth_client):
    body = auth_client.post(URL, {"name": "日本語"}, format="json").json()
    assert body["name"] == "日本語" and body["slug"] == "workspace"


def test_api_workspaces_create_name_of_255_characters_is_accepted(auth_client):
    response = auth_client.post(URL, {"name": "n" * 255}, format="json")
    assert response.status_code == 201
    assert len(response.json()["slug"]) <= 100


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"name": 42}, "name"),
        ({"name": ["a"]}, "name"),
        ({"name": "n" * 256}, "name"),
        ({"name": "ok", "description": "d" * 5001}, "description"),
        ({"name": "ok", "description": 1}, "description"),
        ({"name": "ok", "icon": "i" * 51}, "icon"),
        ({"name": "ok", "color": "red"}, "color"),
        ({"name": "ok", "color": "#12345"}, "color"),
        ({"name": "ok", "color": "#GGGGGG"}, "color"),
        ({"name": "ok", "color": "#1234567"}, "color"),
        ({"name": "ok", "color": 123456}, "color"),
        ({"name": "ok", "settings": "dark"}, "settings"),
        ({"name": "ok", "settings": ["a"]}, "settings"),
        ({"name": "ok", "settings": {"default_permissions": "owner"}}, "settings.default_permissions"),
        ({"name": "ok", "settings": {"default_permissions": "boss"}}, "settings.default_permissions"),
        ({"name": "ok", "settings": {"ai_enabled": "yes"}}, "settings.ai_enabled"),
        ({"name": "ok", "settings": {"allow_guest_access": 1}}, "settings.allow_guest_access"),
        ({"name": "ok", "settings": {"blob": "x" * 70000}}, "settings"),
        ({"name": "nul\x00byte"}, "name"),
    ],
)
def test_api_workspaces_create_bad_input_is_400_and_creates_nothing(auth_client, payload, field):
    before = (Workspace.objects.count(), SyncLog.objects.count())
    assert_validation(auth_client.post(URL, payload, format="json"), field)
    assert (Workspace.objects.count(), SyncLog.objects.count()) == before


def test_api_workspaces_create_malformed_json_is_invalid_json(auth_client):
    response = auth_client.post(URL, data='{"name": ', content_type="application/json")
    assert_problem(response, 400, "invalid-json")
    assert not Workspace.objects.exists()


def test_api_workspaces_create_form_body_is_415(auth_client):
    response = auth_client.post(URL, {"name": "Form"})  # multipart
    assert_problem(response, 415, "unsupported-media-type")
    assert not Workspace.objects.exists()


def test_api_workspaces_create_json_array_body_is_400(auth_client):
    response = auth_client.post(URL, data="[]", content_type="application/json")
    assert response.status_code == 400
    assert not Workspace.objects.exists()


def test_api_workspaces_create_each_user_owns_their_own():
    first, second = UserFactory(), UserFactory()
    client_for(first).post(URL, {"name": "Mine"}, format="json")
    listed = client_for(second).get(URL).json()
    assert listed["total"] == 0
