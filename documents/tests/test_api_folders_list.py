"""GET workspaces/{wid}/folders: members; the flat list or, with tree=true, nested children and document counts."""

import pytest

from documents.models import Folder
from documents.services.documents import document_delete
from documents.tests.factories import DocumentFactory, FolderFactory
from documents.tests.helpers import (
    ACTORS,
    FOLDER_FIELDS,
    FOLDER_TREE_FIELDS,
    READERS,
    assert_problem,
    assert_refused,
    assert_validation,
    folders_url,
    is_timestamp,
    outcome,
    ts,
    user_summary,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree(team):
    """Projects (pos 1) ⊃ {Beta (pos 2) ⊃ Deep, Alpha (pos 1)}; Archive (pos 0), deleted Trash; folders elsewhere."""
    ws, owner = team.workspace, team.user("owner")
    projects = FolderFactory(workspace=ws, name="Projects", position=1, icon="📁", color="#112233")
    beta = FolderFactory(workspace=ws, name="Beta", parent=projects, position=2, is_expanded=False)
    alpha = FolderFactory(workspace=ws, name="Alpha", parent=projects, position=1, created_by=team.user("editor"))
    deep = FolderFactory(workspace=ws, name="Deep", parent=beta)
    archive = FolderFactory(workspace=ws, name="Archive", position=0)
    trash = FolderFactory(workspace=ws, name="Trash")
    team.client("owner").delete(f"/api/v1/folders/{trash.pk}")
    FolderFactory(name="Foreign")
    for folder, count in ((projects, 2), (alpha, 1), (deep, 3)):
        for _ in range(count):
            DocumentFactory(workspace=ws, folder=folder)
    document_delete(actor=owner, document=DocumentFactory(workspace=ws, folder=alpha))  # not counted
    return {"projects": projects, "beta": beta, "alpha": alpha, "deep": deep, "archive": archive}


def _expected(folder: Folder) -> dict:
    folder = Folder.objects.get(pk=folder.pk)
    return {
        "id": str(folder.pk),
        "workspace_id": str(folder.workspace_id),
        "parent_id": str(folder.parent_id) if folder.parent_id else None,
        "name": folder.name,
        "icon": folder.icon,
        "color": folder.color,
        "position": folder.position,
        "is_expanded": folder.is_expanded,
        "created_by": user_summary(folder.created_by),
        "created_at": ts(folder.created_at),
        "updated_at": ts(folder.updated_at),
    }


@pytest.mark.parametrize("actor", ACTORS)
def test_api_folders_list_every_actor(team, tree, actor):
    response = team.client(actor).get(folders_url(team.workspace))
    expected = outcome(actor, READERS)
    if expected != 200:
        assert_refused(response, expected)
        return
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"folders"}
    by_id = {item["id"]: item for item in body["folders"]}
    assert set(by_id) == {str(folder.pk) for folder in tree.values()}
    for folder in tree.values():
        item = by_id[str(folder.pk)]
        assert set(item) == FOLDER_FIELDS and item == _expected(folder)
        assert is_timestamp(item["created_at"]) and is_timestamp(item["updated_at"])
    siblings = [item["name"] for item in body["folders"] if item["parent_id"] == str(tree["projects"].pk)]
    assert siblings == ["Alpha", "Beta"]  # by position
    assert by_id[str(tree["alpha"].pk)]["created_by"] == user_summary(team.user("editor"))


@pytest.mark.parametrize("actor", ["owner", "viewer"])
def test_api_folders_list_tree_nests_children_with_document_counts(team, tree, actor):
    body = team.client(actor).get(folders_url(team.workspace), {"tree": "true"}).json()
    roots = body["folders"]
    assert [root["name"] for root in roots] == ["Archive", "Projects"]
    for node in _walk(roots):
        assert set(node) == FOLDER_TREE_FIELDS
        folder = Folder.objects.get(pk=node["id"])
        assert {k: v for k, v in node.items() if k not in ("children", "document_count")} == _expected(folder)
    archive, projects = roots
    assert (archive["document_count"], archive["children"]) == (0, [])
    assert projects["document_count"] == 2
    assert [(c["name"], c["document_count"]) for c in projects["children"]] == [("Alpha", 1), ("Beta", 0)]
    beta = projects["children"][1]
    assert [(c["name"], c["document_count"], c["children"]) for c in beta["children"]] == [("Deep", 3, [])]


def _walk(nodes):
    for node in nodes:
        yield node
        yield from _walk(node["children"])


@pytest.mark.parametrize("value", ["false", "0"])
def test_api_folders_list_tree_false_is_flat(team, tree, value):
    body = team.client("viewer").get(folders_url(team.workspace), {"tree": value}).json()
    assert len(body["folders"]) == 5 and all("children" not in item for item in body["folders"])


def test_api_folders_list_bad_tree_is_400(team):
    assert_validation(team.client("viewer").get(folders_url(team.workspace), {"tree": "maybe"}), "tree")


def test_api_folders_list_empty_workspace(team):
    assert team.client("viewer").get(folders_url(team.workspace)).json() == {"folders": []}
    assert team.client("viewer").get(folders_url(team.workspace), {"tree": "true"}).json() == {"folders": []}


def test_api_folders_list_unknown_workspace_is_404(team):
    assert_problem(team.client("owner").get(folders_url("00000000-0000-4000-8000-000000000000")), 404, "not-found")


def test_api_folders_list_query_count_is_constant(team, django_assert_max_num_queries):
    client = team.client("viewer")
    FolderFactory(workspace=team.workspace)
    client.get(folders_url(team.workspace))
    with django_assert_max_num_queries(6) as few:
        client.get(folders_url(team.workspace), {"tree": "true"})
    parent = None
    for i in range(30):
        parent = FolderFactory(
            workspace=team.workspace, parent=parent if i % 3 else None, created_by=team.user("editor")
        )
    with django_assert_max_num_queries(len(few)):
        body = client.get(folders_url(team.workspace), {"tree": "true"}).json()
    assert len(list(_walk(body["folders"]))) == 31
