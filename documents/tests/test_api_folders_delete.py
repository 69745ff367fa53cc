"""DELETE folders/{id}: flag delete; children move to the parent, or `cascade=true` trashes the subtree."""

import pytest

from documents.models import Document, Folder
from documents.services.documents import document_delete
from documents.tests.factories import DocumentFactory, FolderFactory
from documents.tests.helpers import (
    ACTORS,
    DELETERS,
    assert_clean_sync,
    assert_consecutive,
    assert_problem,
    assert_refused,
    assert_validation,
    folder_url,
    fresh,
    last_seq,
    outcome,
    state,
    sync_entries,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def nested(team):
    """parent ⊃ folder ⊃ {child ⊃ grandchild}; documents in folder, child and grandchild; a sibling elsewhere."""
    ws = team.workspace
    parent = FolderFactory(workspace=ws, name="Parent")
    folder = FolderFactory(workspace=ws, name="Folder", parent=parent)
    child = FolderFactory(workspace=ws, name="Child", parent=folder)
    grandchild = FolderFactory(workspace=ws, name="Grandchild", parent=child)
    sibling = FolderFactory(workspace=ws, name="Sibling", parent=parent)
    docs = {
        "in_folder": DocumentFactory(workspace=ws, folder=folder),
        "in_child": DocumentFactory(workspace=ws, folder=child),
        "in_grandchild": DocumentFactory(workspace=ws, folder=grandchild),
        "in_sibling": DocumentFactory(workspace=ws, folder=sibling),
    }
    return {"parent": parent, "folder": folder, "child": child, "grandchild": grandchild, "sibling": sibling}, docs


@pytest.mark.parametrize("actor", ACTORS)
def test_api_folders_delete_every_actor(team, nested, actor):
    folders, _ = nested
    before = state(team.workspace)
    response = team.client(actor).delete(folder_url(folders["grandchild"]))
    expected = outcome(actor, DELETERS, ok=204)
    if expected != 204:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 204 and response.content == b""
    assert Folder.objects.get(pk=folders["grandchild"].pk).deleted_at is not None


def test_api_folders_delete_moves_children_to_the_parent(team, nested):
    folders, docs = nested
    seq = last_seq(team.workspace)
    assert team.client("admin").delete(folder_url(folders["folder"])).status_code == 204
    gone = Folder.objects.get(pk=folders["folder"].pk)
    assert gone.deleted_at is not None
    assert Folder.objects.get(pk=folders["child"].pk).parent_id == folders["parent"].pk
    assert Folder.objects.get(pk=folders["child"].pk).deleted_at is None
    assert Folder.objects.get(pk=folders["grandchild"].pk).parent_id == folders["child"].pk
    moved = fresh(docs["in_folder"])
    assert (moved.folder_id, moved.deleted) == (folders["parent"].pk, False)
    assert moved.updated_by == docs["in_folder"].updated_by  # a move is not an edit
    assert fresh(docs["in_child"]).folder_id == folders["child"].pk
    entries = sync_entries(team.workspace, after=seq)
    assert_consecutive(entries, seq)
    assert [(e.entity_type, e.entity_id, e.operation) for e in entries] == [
        ("folder", folders["child"].pk, "update"),
        ("document", docs["in_folder"].pk, "update"),
        ("folder", folders["folder"].pk, "delete"),
    ]
    assert entries[0].changes["new"] == {"parent_id": str(folders["parent"].pk)}
    assert set(entries[1].changes["new"]) <= {"folder_id", "updated_at"}
    assert entries[1].changes["new"]["folder_id"] == str(folders["parent"].pk)
    assert_clean_sync(entries[1])
    assert set(entries[2].changes["new"]) == {"deleted_at"}
    tree = team.client("viewer").get(f"/api/v1/workspaces/{team.workspace.pk}/folders", {"tree": "true"}).json()
    parent = tree["folders"][0]
    assert (parent["name"], parent["document_count"]) == ("Parent", 1)
    assert [c["name"] for c in parent["children"]] == ["Child", "Sibling"]  # same position: by name


def test_api_folders_delete_a_root_folder_makes_its_children_roots(team, nested):
    folders, docs = nested
    team.client("owner").delete(folder_url(folders["parent"]))
    assert Folder.objects.get(pk=folders["folder"].pk).parent_id is None
    assert Folder.objects.get(pk=folders["sibling"].pk).parent_id is None
    assert fresh(docs["in_folder"]).folder_id == folders["folder"].pk


@pytest.mark.parametrize("value", ["true", "1", "True"])
def test_api_folders_delete_cascade_trashes_the_subtree(team, nested, value):
    folders, docs = nested
    seq = last_seq(team.workspace)
    response = team.client("owner").delete(f"{folder_url(folders['folder'])}?cascade={value}")
    assert response.status_code == 204
    for name in ("folder", "child", "grandchild"):
        assert Folder.objects.get(pk=folders[name].pk).deleted_at is not None, name
    for name in ("parent", "sibling"):
        assert Folder.objects.get(pk=folders[name].pk).deleted_at is None, name
    for name in ("in_folder", "in_child", "in_grandchild"):
        stored = fresh(docs[name])
        assert stored.deleted and stored.deleted_by == team.user("owner") and stored.folder_id is not None, name
    assert fresh(docs["in_sibling"]).deleted is False
    entries = sync_entries(team.workspace, after=seq)
    assert_consecutive(entries, seq)
    assert sorted((e.entity_type, e.operation) for e in entries) == sorted(
        [("document", "delete")] * 3 + [("folder", "delete")] * 3
    )
    assert {e.entity_id for e in entries if e.entity_type == "document"} == {
        docs[n].pk for n in ("in_folder", "in_child", "in_grandchild")
    }
    for entry in entries:
        assert_clean_sync(entry)
    trash = team.client("owner").get(f"/api/v1/workspaces/{team.workspace.pk}/documents", {"deleted": "true"}).json()
    assert trash["total"] == 3


def test_api_folders_delete_cascade_false_is_the_default(team, nested):
    folders, docs = nested
    team.client("owner").delete(f"{folder_url(folders['child'])}?cascade=false")
    assert fresh(docs["in_child"]).deleted is False and fresh(docs["in_child"]).folder_id == folders["folder"].pk
    assert Folder.objects.get(pk=folders["grandchild"].pk).parent_id == folders["folder"].pk


def test_api_folders_delete_bad_cascade_is_400(team, nested):
    folders, _ = nested
    before = state(team.workspace)
    assert_validation(team.client("owner").delete(f"{folder_url(folders['folder'])}?cascade=maybe"), "cascade")
    assert state(team.workspace) == before


def test_api_folders_delete_already_deleted_or_unknown_is_404(team, nested):
    folders, _ = nested
    client = team.client("owner")
    client.delete(folder_url(folders["grandchild"]))
    assert_problem(client.delete(folder_url(folders["grandchild"])), 404, "not-found")
    assert_problem(client.delete(folder_url("00000000-0000-4000-8000-000000000000")), 404, "not-found")


def test_api_folders_delete_of_another_workspace_is_404(team):
    foreign = FolderFactory()
    assert_problem(team.client("owner").delete(folder_url(foreign)), 404, "not-found")
    assert Folder.objects.get(pk=foreign.pk).deleted_at is None


def test_api_folders_delete_leaves_deleted_documents_in_place(team, nested):
    folders, docs = nested
    document_delete(actor=team.user("owner"), document=docs["in_child"])
    team.client("owner").delete(folder_url(folders["child"]))
    # The trashed document keeps its folder; undelete later puts it at the root.
    assert Document.objects.get(pk=docs["in_child"].pk).folder_id == folders["child"].pk
    response = team.client("owner").post(f"/api/v1/documents/{docs['in_child'].pk}/undelete")
    assert response.json()["folder_id"] is None
