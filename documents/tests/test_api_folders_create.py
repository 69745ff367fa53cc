"""POST workspaces/{wid}/folders: flag create; client ids, a live parent of the workspace, depth ≤ 10 (root = 1)."""

import uuid

import pytest

from documents.models import Folder
from documents.tests.factories import FolderFactory
from documents.tests.helpers import (
    ACTORS,
    CREATORS,
    FOLDER_FIELDS,
    assert_consecutive,
    assert_problem,
    assert_refused,
    assert_validation,
    folders_url,
    is_timestamp,
    last_seq,
    outcome,
    state,
    sync_entries,
    user_summary,
)

pytestmark = pytest.mark.django_db


def _chain(workspace, depth: int) -> list[Folder]:
    """Folders nested `depth` levels deep; the last one is at depth `depth`."""
    chain, parent = [], None
    for level in range(1, depth + 1):
        parent = FolderFactory(workspace=workspace, name=f"Level {level}", parent=parent)
        chain.append(parent)
    return chain


@pytest.mark.parametrize("actor", ACTORS)
def test_api_folders_create_every_actor(team, actor):
    parent = FolderFactory(workspace=team.workspace, name="Parent")
    before, seq = state(team.workspace), last_seq(team.workspace)
    body = {"name": "Specs", "parent_id": str(parent.pk), "icon": "📐", "color": "#aabbcc", "position": 3}
    response = team.client(actor).post(folders_url(team.workspace), body, format="json")
    expected = outcome(actor, CREATORS, ok=201)
    if expected != 201:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 201
    data = response.json()
    folder = Folder.objects.get(pk=data["id"])
    assert set(data) == FOLDER_FIELDS
    assert data == {
        "id": str(folder.pk),
        "workspace_id": str(team.workspace.pk),
        "parent_id": str(parent.pk),
        "name": "Specs",
        "icon": "📐",
        "color": "#aabbcc",
        "position": 3,
        "is_expanded": True,
        "created_by": user_summary(team.user(actor)),
        "created_at": data["created_at"],
        "updated_at": data["updated_at"],
    }
    assert is_timestamp(data["created_at"]) and is_timestamp(data["updated_at"])
    assert (folder.workspace_id, folder.parent_id, folder.created_by, folder.deleted_at) == (
        team.workspace.pk,
        parent.pk,
        team.user(actor),
        None,
    )
    entries = sync_entries(team.workspace, after=seq)
    assert_consecutive(entries, seq)
    assert [(e.entity_type, e.entity_id, e.operation, e.changed_by) for e in entries] == [
        ("folder", folder.pk, "create", team.user(actor))
    ]
    assert entries[0].data["name"] == "Specs" and entries[0].data["parent_id"] == str(parent.pk)
    assert entries[0].content_hash is None


def test_api_folders_create_defaults_at_the_root(team):
    response = team.client("editor").post(folders_url(team.workspace), {"name": "Root"}, format="json")
    data = response.json()
    assert (data["parent_id"], data["icon"], data["color"], data["position"], data["is_expanded"]) == (
        None,
        "",
        None,
        0,
        True,
    )


def test_api_folders_create_with_a_client_id(team):
    folder_id = str(uuid.uuid4())
    response = team.client("owner").post(folders_url(team.workspace), {"id": folder_id, "name": "Mine"}, format="json")
    assert response.status_code == 201 and response.json()["id"] == folder_id


def test_api_folders_create_existing_id_is_409(team):
    existing = FolderFactory(workspace=team.workspace)
    foreign = FolderFactory()
    before = state(team.workspace)
    for folder in (existing, foreign):
        response = team.client("owner").post(
            folders_url(team.workspace), {"id": str(folder.pk), "name": "Dup"}, format="json"
        )
        assert_problem(response, 409, "id-exists")
    assert state(team.workspace) == before
    assert Folder.objects.get(pk=foreign.pk).workspace_id == foreign.workspace_id


def test_api_folders_create_at_depth_ten_is_allowed_and_eleven_is_400(team):
    chain = _chain(team.workspace, 10)
    client = team.client("owner")
    ok = client.post(folders_url(team.workspace), {"name": "Tenth", "parent_id": str(chain[8].pk)}, format="json")
    assert ok.status_code == 201
    before = state(team.workspace)
    response = client.post(
        folders_url(team.workspace), {"name": "Eleventh", "parent_id": str(chain[9].pk)}, format="json"
    )
    assert_validation(response, "parent_id")
    assert state(team.workspace) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "n" * 256}, "name"),
        ({"name": 7}, "name"),
        ({"name": "F", "parent_id": "nope"}, "parent_id"),
        ({"name": "F", "parent_id": 4}, "parent_id"),
        ({"name": "F", "parent_id": str(uuid.uuid4())}, "parent_id"),
        ({"name": "F", "color": "red"}, "color"),
        ({"name": "F", "color": "#12345"}, "color"),
        ({"name": "F", "icon": "i" * 51}, "icon"),
        ({"name": "F", "position": "first"}, "position"),
        ({"name": "F", "position": 2**31}, "position"),
        ({"name": "F", "is_expanded": "yes"}, "is_expanded"),
        ({"name": "F", "id": "not-a-uuid"}, "id"),
        ({"name": "F", "id": 17}, "id"),
    ],
)
def test_api_folders_create_invalid_fields_are_400(team, body, field):
    before = state(team.workspace)
    assert_validation(team.client("owner").post(folders_url(team.workspace), body, format="json"), field)
    assert state(team.workspace) == before


def test_api_folders_create_name_of_255_chars(team):
    response = team.client("owner").post(folders_url(team.workspace), {"name": "n" * 255}, format="json")
    assert response.status_code == 201


def test_api_folders_create_under_a_foreign_or_deleted_parent_is_400(team):
    foreign = FolderFactory()
    gone = FolderFactory(workspace=team.workspace)
    client = team.client("owner")
    client.delete(f"/api/v1/folders/{gone.pk}")
    before = state(team.workspace)
    for parent in (foreign, gone):
        response = client.post(folders_url(team.workspace), {"name": "F", "parent_id": str(parent.pk)}, format="json")
        assert_validation(response, "parent_id")
    assert state(team.workspace) == before


def test_api_folders_create_in_an_unknown_workspace_is_404(team):
    response = team.client("owner").post(folders_url(uuid.uuid4()), {"name": "F"}, format="json")
    assert_problem(response, 404, "not-found")
    assert not Folder.objects.exists()
