"""The existing web client's folder calls (SPEC §3.9), replayed as FolderService sends them:
`POST folders?workspace_id=`, `GET folders/workspace/{wid}?workspace_id=…[&parent_id=]`,
`GET folders/{id}?workspace_id=…` and `POST folders/{id}/move?workspace_id=…`."""

import pytest

from documents.models import Folder
from documents.services.folders import folder_delete
from documents.tests.factories import FolderFactory
from documents.tests.helpers import (
    ACTORS,
    CREATORS,
    EDITORS,
    FOLDER_FIELDS,
    MISSING_ID,
    READERS,
    assert_problem,
    assert_refused,
    assert_validation,
    is_timestamp,
    last_seq,
    outcome,
    state,
    sync_entries,
    user_summary,
)
from workspaces.tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


def create_url(workspace) -> str:
    return f"/api/v1/folders?workspace_id={getattr(workspace, 'pk', workspace)}"


def list_url(workspace, query: str = "") -> str:
    wid = getattr(workspace, "pk", workspace)
    return f"/api/v1/folders/workspace/{wid}?workspace_id={wid}{query}"


def folder_url(folder, suffix: str = "") -> str:
    return f"/api/v1/folders/{folder.pk}{suffix}?workspace_id={folder.workspace_id}"


def _chain(workspace, depth: int) -> list[Folder]:
    chain, parent = [], None
    for level in range(1, depth + 1):
        parent = FolderFactory(workspace=workspace, name=f"Level {level}", parent=parent)
        chain.append(parent)
    return chain


# --- POST folders?workspace_id= -----------------------------------------------------------------------------


def test_client_api_folders_create_as_the_sidebar_sends_it(team):
    """BackendWorkspaceService.createFolder's body: name, icon, parent_id null."""
    seq = last_seq(team.workspace)
    body = {"name": "Research", "icon": "📁", "parent_id": None}
    response = team.client("editor").post(create_url(team.workspace), body, format="json")
    assert response.status_code == 201
    data = response.json()
    folder = Folder.objects.get(pk=data["id"])
    assert set(data) == FOLDER_FIELDS
    assert (folder.workspace_id, folder.parent_id, folder.name, folder.icon) == (team.workspace.pk, None, "Research", "📁")
    assert (data["workspace_id"], data["parent_id"], data["name"], data["icon"]) == (
        str(team.workspace.pk), None, "Research", "📁",
    )
    assert data["position"] == 0 and data["is_expanded"] is True
    assert data["created_by"] == user_summary(team.user("editor")) and is_timestamp(data["created_at"])
    [entry] = sync_entries(team.workspace, seq)
    assert (entry.entity_type, entry.entity_id, entry.operation) == ("folder", folder.pk, "create")


def test_client_api_folders_create_a_subfolder_with_a_colour(team):
    parent = FolderFactory(workspace=team.workspace)
    body = {"name": "Child", "parent_id": str(parent.pk), "color": "#112233"}
    response = team.client("owner").post(create_url(team.workspace), body, format="json")
    assert response.status_code == 201
    assert Folder.objects.get(pk=response.json()["id"]).parent_id == parent.pk
    assert response.json()["color"] == "#112233"


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_folders_create_every_actor(team, actor):
    before = state(team.workspace)
    response = team.client(actor).post(create_url(team.workspace), {"name": "Mine", "icon": "📁"}, format="json")
    expected = outcome(actor, CREATORS, ok=201)
    if expected != 201:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 201
    assert Folder.objects.get(pk=response.json()["id"]).created_by == team.user(actor)


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/folders", {"name": "N"}, "workspace_id"),
        ("/api/v1/folders?workspace_id=12", {"name": "N"}, "workspace_id"),
        (None, {"icon": "📁"}, "name"),
        (None, {"name": "N", "parent_id": "nope"}, "parent_id"),
        (None, {"name": "N", "parent_id": MISSING_ID}, "parent_id"),
        (None, {"name": "N", "color": "red"}, "color"),
    ],
)
def test_client_api_folders_create_bad_input_is_400(team, url, body, field):
    before = state(team.workspace)
    assert_validation(team.client("owner").post(url or create_url(team.workspace), body, format="json"), field)
    assert state(team.workspace) == before


def test_client_api_folders_create_in_another_workspaces_folder_is_400(team):
    foreign = FolderFactory(workspace=WorkspaceFactory(owner=team.user("owner")))
    body = {"name": "N", "parent_id": str(foreign.pk)}
    assert_validation(team.client("owner").post(create_url(team.workspace), body, format="json"), "parent_id")


def test_client_api_folders_create_in_an_unknown_workspace_is_404(team):
    assert_problem(team.client("owner").post(create_url(MISSING_ID), {"name": "N"}, format="json"), 404, "not-found")


# --- GET folders/workspace/{wid} ----------------------------------------------------------------------------


def test_client_api_folders_list_is_flat_items_with_a_total(team):
    root = FolderFactory(workspace=team.workspace, name="Root", position=2)
    child = FolderFactory(workspace=team.workspace, name="Child", parent=root)
    other_root = FolderFactory(workspace=team.workspace, name="Other", position=1)
    trashed = FolderFactory(workspace=team.workspace, name="Trashed")
    folder_delete(actor=team.user("owner"), folder=trashed, cascade=False)
    FolderFactory(workspace=WorkspaceFactory(owner=team.user("viewer")), name="Elsewhere")
    response = team.client("viewer").get(list_url(team.workspace))
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"items", "total"} and data["total"] == 3
    items = {item["id"]: item for item in data["items"]}
    assert set(items) == {str(root.pk), str(child.pk), str(other_root.pk)}
    for item in data["items"]:
        assert set(item) == FOLDER_FIELDS
    assert items[str(child.pk)]["parent_id"] == str(root.pk)
    assert (items[str(root.pk)]["parent_id"], items[str(root.pk)]["position"]) == (None, 2)


def test_client_api_folders_list_filters_by_parent(team):
    root = FolderFactory(workspace=team.workspace, name="Root")
    child = FolderFactory(workspace=team.workspace, name="Child", parent=root)
    FolderFactory(workspace=team.workspace, name="Grandchild", parent=child)
    roots = team.client("viewer").get(list_url(team.workspace, "&parent_id=")).json()
    assert [item["id"] for item in roots["items"]] == [str(root.pk)] and roots["total"] == 1
    children = team.client("viewer").get(list_url(team.workspace, f"&parent_id={root.pk}")).json()
    assert [item["id"] for item in children["items"]] == [str(child.pk)]


def test_client_api_folders_list_with_a_malformed_parent_is_400(team):
    assert_validation(team.client("viewer").get(list_url(team.workspace, "&parent_id=x")), "parent_id")


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_folders_list_every_actor(team, actor):
    folder = FolderFactory(workspace=team.workspace)
    response = team.client(actor).get(list_url(team.workspace))
    expected = outcome(actor, READERS)
    if expected != 200:
        assert_refused(response, expected)
        return
    assert [item["id"] for item in response.json()["items"]] == [str(folder.pk)]


@pytest.mark.parametrize("wid", [MISSING_ID, "not-a-uuid"])
def test_client_api_folders_list_of_an_unknown_workspace_is_404(team, wid):
    assert_problem(team.client("owner").get(f"/api/v1/folders/workspace/{wid}"), 404, "not-found")


# --- GET folders/{id} ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_folders_retrieve_every_actor(team, actor):
    parent = FolderFactory(workspace=team.workspace, name="Parent")
    folder = FolderFactory(workspace=team.workspace, name="Specs", parent=parent, icon="📐")
    response = team.client(actor).get(folder_url(folder))
    expected = outcome(actor, READERS)
    if expected != 200:
        assert_refused(response, expected)
        return
    assert response.status_code == 200
    data = response.json()
    assert set(data) == FOLDER_FIELDS
    assert (data["id"], data["parent_id"], data["name"], data["icon"]) == (
        str(folder.pk), str(parent.pk), "Specs", "📐",
    )
    assert data["created_by"] == user_summary(team.user("owner"))


def test_client_api_folders_retrieve_a_deleted_or_unknown_folder_is_404(team):
    folder = FolderFactory(workspace=team.workspace)
    folder_delete(actor=team.user("owner"), folder=folder, cascade=False)
    assert_problem(team.client("owner").get(folder_url(folder)), 404, "not-found")
    assert_problem(team.client("owner").get(f"/api/v1/folders/{MISSING_ID}"), 404, "not-found")
    assert_problem(team.client("owner").get("/api/v1/folders/not-a-uuid"), 404, "not-found")


# --- POST folders/{id}/move ---------------------------------------------------------------------------------


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_folders_move_every_actor(team, actor):
    target = FolderFactory(workspace=team.workspace, name="Target")
    folder = FolderFactory(workspace=team.workspace, name="Moving")
    before, seq = state(team.workspace), last_seq(team.workspace)
    body = {"parent_id": str(target.pk), "position": 4}
    response = team.client(actor).post(folder_url(folder, "/move"), body, format="json")
    expected = outcome(actor, EDITORS)
    if expected != 200:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 200
    data = response.json()
    folder.refresh_from_db()
    assert (folder.parent_id, folder.position) == (target.pk, 4)
    assert set(data) == FOLDER_FIELDS and (data["parent_id"], data["position"]) == (str(target.pk), 4)
    [entry] = sync_entries(team.workspace, seq)
    assert (entry.entity_id, entry.operation) == (folder.pk, "update")
    assert entry.changes["new"] == {"parent_id": str(target.pk), "position": 4}


def test_client_api_folders_move_to_the_root_keeps_the_position(team):
    parent = FolderFactory(workspace=team.workspace)
    folder = FolderFactory(workspace=team.workspace, parent=parent, position=7)
    response = team.client("editor").post(folder_url(folder, "/move"), {"parent_id": None}, format="json")
    assert response.status_code == 200
    folder.refresh_from_db()
    assert (folder.parent_id, folder.position) == (None, 7) and response.json()["parent_id"] is None


def test_client_api_folders_move_into_its_own_subtree_is_409(team):
    top, middle, bottom = _chain(team.workspace, 3)
    before = state(team.workspace)
    response = team.client("editor").post(folder_url(top, "/move"), {"parent_id": str(bottom.pk)}, format="json")
    assert_problem(response, 409, "folder-cycle")
    assert state(team.workspace) == before


def test_client_api_folders_move_beyond_ten_levels_is_400(team):
    chain = _chain(team.workspace, 10)
    subtree = _chain(team.workspace, 1)[0]
    before = state(team.workspace)
    response = team.client("editor").post(
        folder_url(subtree, "/move"), {"parent_id": str(chain[-1].pk)}, format="json"
    )
    assert_validation(response, "parent_id")
    assert state(team.workspace) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"position": 1}, "parent_id"),
        ({"parent_id": "nope"}, "parent_id"),
        ({"parent_id": None, "position": "first"}, "position"),
        ({"parent_id": MISSING_ID}, "parent_id"),
    ],
)
def test_client_api_folders_move_bad_input_is_400(team, body, field):
    folder = FolderFactory(workspace=team.workspace)
    before = state(team.workspace)
    assert_validation(team.client("editor").post(folder_url(folder, "/move"), body, format="json"), field)
    assert state(team.workspace) == before


def test_client_api_folders_move_an_unknown_folder_is_404(team):
    response = team.client("editor").post(f"/api/v1/folders/{MISSING_ID}/move", {"parent_id": None}, format="json")
    assert_problem(response, 404, "not-found")


# --- the SPEC paths the client calls with its own query string ----------------------------------------------


def test_client_api_folders_update_and_delete_as_the_client_sends_them(team):
    """`PATCH folders/{id}?workspace_id=` (updateFolder's body) and `DELETE …?workspace_id=&cascade=true`."""
    parent = FolderFactory(workspace=team.workspace)
    folder = FolderFactory(workspace=team.workspace)
    body = {"name": "Renamed", "icon": "🗂", "parent_id": str(parent.pk), "position": 2, "is_expanded": False}
    response = team.client("editor").patch(folder_url(folder), body, format="json")
    assert response.status_code == 200
    folder.refresh_from_db()
    assert (folder.name, folder.icon, folder.parent_id, folder.position, folder.is_expanded) == (
        "Renamed", "🗂", parent.pk, 2, False,
    )
    deleted = team.client("owner").delete(f"/api/v1/folders/{parent.pk}?workspace_id={team.workspace.pk}&cascade=true")
    assert deleted.status_code == 204
    assert not Folder.objects.filter(pk__in=[parent.pk, folder.pk], deleted_at__isnull=True).exists()
