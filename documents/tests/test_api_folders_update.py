"""PATCH folders/{id}: flag edit; rename, restyle, move — a cycle is 409 `folder-cycle`, too deep is 400."""

import uuid

import pytest

from documents.models import Folder
from documents.tests.factories import FolderFactory
from documents.tests.helpers import (
    ACTORS,
    EDITORS,
    FOLDER_FIELDS,
    assert_consecutive,
    assert_problem,
    assert_refused,
    assert_validation,
    folder_url,
    last_seq,
    outcome,
    state,
    sync_entries,
    user_summary,
)

pytestmark = pytest.mark.django_db


def _chain(workspace, depth: int, prefix: str = "L") -> list[Folder]:
    chain, parent = [], None
    for level in range(1, depth + 1):
        parent = FolderFactory(workspace=workspace, name=f"{prefix}{level}", parent=parent)
        chain.append(parent)
    return chain


def _patch(team, folder, body, actor="owner"):
    return team.client(actor).patch(folder_url(folder), body, format="json")


@pytest.mark.parametrize("actor", ACTORS)
def test_api_folders_update_every_actor(team, actor):
    folder = FolderFactory(workspace=team.workspace, name="Old", color="#000000")
    target = FolderFactory(workspace=team.workspace, name="Target")
    before, seq = state(team.workspace), last_seq(team.workspace)
    body = {
        "name": "New",
        "color": "#ffffff",
        "icon": "⭐",
        "position": 9,
        "is_expanded": False,
        "parent_id": str(target.pk),
    }
    response = _patch(team, folder, body, actor)
    expected = outcome(actor, EDITORS)
    if expected != 200:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 200
    data = response.json()
    stored = Folder.objects.get(pk=folder.pk)
    assert set(data) == FOLDER_FIELDS
    assert (data["name"], data["color"], data["icon"], data["position"], data["is_expanded"], data["parent_id"]) == (
        "New",
        "#ffffff",
        "⭐",
        9,
        False,
        str(target.pk),
    )
    assert data["created_by"] == user_summary(team.user("owner"))  # the creator stays
    assert (stored.name, stored.parent_id, stored.position, stored.is_expanded) == ("New", target.pk, 9, False)
    entries = sync_entries(team.workspace, after=seq)
    assert_consecutive(entries, seq)
    assert [(e.entity_type, e.entity_id, e.operation, e.changed_by) for e in entries] == [
        ("folder", folder.pk, "update", team.user(actor))
    ]
    assert set(entries[0].changes["new"]) == {"name", "color", "icon", "position", "is_expanded", "parent_id"}
    assert entries[0].changes["old"]["name"] == "Old" and entries[0].changes["old"]["parent_id"] is None


def test_api_folders_update_sync_carries_only_changed_fields(team):
    folder = FolderFactory(workspace=team.workspace, name="Old")
    seq = last_seq(team.workspace)
    _patch(team, folder, {"name": "Renamed", "position": 0})  # position unchanged
    entry = sync_entries(team.workspace, after=seq)[0]
    assert entry.changes == {"old": {"name": "Old"}, "new": {"name": "Renamed"}}


def test_api_folders_update_without_changes_logs_nothing(team):
    folder = FolderFactory(workspace=team.workspace, name="Same")
    seq = last_seq(team.workspace)
    response = _patch(team, folder, {"name": "Same", "id": str(uuid.uuid4())})
    assert response.status_code == 200 and response.json()["id"] == str(folder.pk)
    assert last_seq(team.workspace) == seq


def test_api_folders_update_moves_to_the_root(team):
    parent = FolderFactory(workspace=team.workspace)
    child = FolderFactory(workspace=team.workspace, parent=parent)
    response = _patch(team, child, {"parent_id": None})
    assert response.json()["parent_id"] is None and Folder.objects.get(pk=child.pk).parent_id is None


@pytest.mark.parametrize("into", ["itself", "child", "grandchild"])
def test_api_folders_update_cycle_is_409(team, into):
    top, child, grandchild = _chain(team.workspace, 3)
    target = {"itself": top, "child": child, "grandchild": grandchild}[into]
    before = state(team.workspace)
    assert_problem(_patch(team, top, {"parent_id": str(target.pk), "name": "Moved"}), 409, "folder-cycle")
    assert state(team.workspace) == before


def test_api_folders_update_move_within_the_depth_limit(team):
    chain = _chain(team.workspace, 7)
    subtree = _chain(team.workspace, 3, prefix="S")  # height 3
    response = _patch(team, subtree[0], {"parent_id": str(chain[6].pk)})  # 7 + 3 = 10
    assert response.status_code == 200
    assert Folder.objects.get(pk=subtree[2].pk).parent_id == subtree[1].pk


def test_api_folders_update_move_beyond_the_depth_limit_is_400(team):
    chain = _chain(team.workspace, 8)
    subtree = _chain(team.workspace, 3, prefix="S")
    before = state(team.workspace)
    assert_validation(_patch(team, subtree[0], {"parent_id": str(chain[7].pk)}), "parent_id")  # 8 + 3 = 11
    assert state(team.workspace) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"color": "blue"}, "color"),
        ({"position": 1.5}, "position"),
        ({"is_expanded": 1}, "is_expanded"),
        ({"parent_id": "nope"}, "parent_id"),
        ({"parent_id": str(uuid.uuid4())}, "parent_id"),
    ],
)
def test_api_folders_update_invalid_fields_are_400(team, body, field):
    folder = FolderFactory(workspace=team.workspace)
    before = state(team.workspace)
    assert_validation(_patch(team, folder, body), field)
    assert state(team.workspace) == before


def test_api_folders_update_into_a_foreign_folder_is_400(team):
    folder = FolderFactory(workspace=team.workspace)
    before = state(team.workspace)
    assert_validation(_patch(team, folder, {"parent_id": str(FolderFactory().pk)}), "parent_id")
    assert state(team.workspace) == before


def test_api_folders_update_deleted_or_unknown_folder_is_404(team):
    folder = FolderFactory(workspace=team.workspace)
    team.client("owner").delete(folder_url(folder))
    assert_problem(_patch(team, folder, {"name": "Back"}), 404, "not-found")
    assert_problem(_patch(team, uuid.uuid4(), {"name": "x"}), 404, "not-found")
    assert_problem(_patch(team, "nope", {"name": "x"}), 404, "not-found")


def test_api_folders_update_of_another_workspace_is_404(team):
    foreign = FolderFactory(name="Theirs")
    assert_problem(_patch(team, foreign, {"name": "Mine"}), 404, "not-found")
    assert Folder.objects.get(pk=foreign.pk).name == "Theirs"


def test_api_folders_update_empty_colour_is_stored_as_null(team):
    folder = FolderFactory(workspace=team.workspace, color="#336699")
    response = team.client("owner").patch(folder_url(folder), {"color": ""}, format="json")
    assert response.status_code == 200 and response.json()["color"] is None
    folder.refresh_from_db()
    assert folder.color is None
