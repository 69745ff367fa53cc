"""POST workspaces/{wid}/documents: flag create; content rules, client ids, tags, sizes, version 1, sync entry."""

import json
import uuid

import pytest

from documents.models import Document, DocumentTag, DocumentVersion, Mindmap
from documents.tests.factories import DocumentFactory, FolderFactory
from documents.tests.helpers import (
    ACTORS,
    CREATORS,
    DEFAULT_METADATA,
    DEFAULT_SETTINGS,
    KIB,
    MIB,
    assert_clean_sync,
    assert_consecutive,
    assert_document_matches,
    assert_problem,
    assert_refused,
    assert_validation,
    client_for,
    docs_url,
    last_seq,
    outcome,
    sha,
    state,
    sync_entries,
    tags_of,
)
from sync.models import SyncLog
from workspaces.services.operators import workspace_soft_delete
from workspaces.tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

BODY = {
    "title": "Roadmap",
    "content": "# Roadmap\n\nShip the editor.\n",
    "tags": ["plan", "Q3"],
    "metadata": {"priority": "high"},
    "settings": {"auto_save": False},
}


def _post(team, actor="owner", body=None, **kwargs):
    return team.client(actor).post(
        docs_url(team.workspace), body if body is not None else BODY, format="json", **kwargs
    )


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_create_every_actor(team, actor):
    before, seq = state(team.workspace), last_seq(team.workspace)
    response = _post(team, actor)
    expected = outcome(actor, CREATORS, ok=201)
    if expected != 201:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 201
    body = response.json()
    document = Document.objects.get(pk=body["id"])
    assert response["ETag"] == f'"{sha(BODY["content"])}"'
    assert response["Location"] == f"/api/v1/documents/{document.pk}"
    assert_document_matches(body, document, user=team.user(actor), role=actor)
    assert body["title"] == "Roadmap" and body["type"] == "markdown" and body["content"] == BODY["content"]
    assert body["tags"] == ["plan", "Q3"]
    assert body["metadata"] == {**DEFAULT_METADATA, "priority": "high"}
    assert body["settings"] == {**DEFAULT_SETTINGS, "auto_save": False}
    assert body["creator"]["id"] == body["last_editor"]["id"] == str(team.user(actor).pk)
    assert (body["view_count"], body["version_count"], body["is_starred"], body["deleted"]) == (0, 1, False, False)
    assert document.workspace_id == team.workspace.pk and document.created_by == team.user(actor)
    # SPEC §10.22: content records version 1 (auto).
    version = DocumentVersion.objects.get(document=document)
    assert (version.version_number, version.source, version.content, version.created_by) == (
        1,
        "auto",
        BODY["content"],
        team.user(actor),
    )
    assert version.changes_summary == {"lines_added": 3, "lines_removed": 0, "lines_modified": 0}
    assert version.metadata_snapshot == {"metadata": document.metadata, "tags": ["plan", "Q3"]}
    entries = sync_entries(team.workspace, after=seq)
    assert_consecutive(entries, seq)
    assert [(e.entity_type, e.entity_id, e.operation) for e in entries] == [("document", document.pk, "create")]
    assert entries[0].changed_by == team.user(actor)
    assert entries[0].content_hash == document.content_hash
    assert entries[0].data["title"] == "Roadmap" and entries[0].data["tags"] == ["plan", "Q3"]
    assert_clean_sync(entries[0])


def test_api_documents_create_defaults_and_empty_document_has_no_version(team):
    response = _post(team, body={"title": "Blank"})
    assert response.status_code == 201
    body = response.json()
    assert (body["type"], body["content"], body["tags"], body["folder_id"]) == ("markdown", "", [], None)
    assert body["metadata"] == DEFAULT_METADATA and body["settings"] == DEFAULT_SETTINGS
    assert body["content_hash"] == sha("") and response["ETag"] == f'"{sha("")}"'
    assert (body["size_bytes"], body["word_count"], body["version_count"]) == (0, 0, 0)
    assert not DocumentVersion.objects.filter(document_id=body["id"]).exists()


def test_api_documents_create_derives_size_and_words_from_utf8(team):
    response = _post(team, body={"title": "Accents", "content": "héllo wörld — ünïcode"})
    body = response.json()
    assert body["size_bytes"] == len("héllo wörld — ünïcode".encode()) == 27
    assert body["word_count"] == 3


def test_api_documents_create_with_a_client_id_keeps_it(team):
    client_id = str(uuid.uuid4())
    response = _post(team, body={**BODY, "id": client_id})
    assert response.status_code == 201 and response.json()["id"] == client_id
    assert Document.objects.filter(pk=client_id, workspace=team.workspace).exists()


def test_api_documents_create_existing_id_is_409_and_changes_nothing(team, document):
    before = state(team.workspace)
    response = _post(team, body={**BODY, "id": str(document.pk), "title": "Impostor"})
    assert_problem(response, 409, "id-exists")
    assert state(team.workspace) == before


def test_api_documents_create_id_taken_in_another_workspace_is_409(team):
    elsewhere = DocumentFactory()
    before = state(team.workspace)
    response = _post(team, body={**BODY, "id": str(elsewhere.pk)})
    assert_problem(response, 409, "id-exists")
    assert state(team.workspace) == before
    assert Document.objects.get(pk=elsewhere.pk).workspace_id == elsewhere.workspace_id


@pytest.mark.parametrize("bad_id", ["not-a-uuid", 12, "", None])
def test_api_documents_create_malformed_id_is_400(team, bad_id):
    before = state(team.workspace)
    assert_validation(_post(team, body={**BODY, "id": bad_id}), "id")
    assert state(team.workspace) == before


def test_api_documents_create_mindmap_writes_the_projection(team):
    content = {
        "nodes": [{"id": "a", "label": "Root"}, {"id": "b", "label": "Child"}],
        "edges": [{"from": "a", "to": "b"}],
        "layout": {"type": "radial", "spacing": 40},
        "theme": "dark",
    }
    response = _post(team, body={"title": "Map", "type": "mindmap", "content": json.dumps(content)})
    assert response.status_code == 201
    body = response.json()
    assert body["type"] == "mindmap" and json.loads(body["content"]) == content  # other keys kept
    mindmap = Mindmap.objects.get(document_id=body["id"])
    assert mindmap.nodes == content["nodes"] and mindmap.edges == content["edges"]
    assert mindmap.layout_type == "radial" and mindmap.layout_settings == {"type": "radial", "spacing": 40}


def test_api_documents_create_presentation_is_accepted_without_projection(team):
    content = json.dumps({"slides": [{"title": "Intro"}, {"title": "End"}], "theme": "light"})
    response = _post(team, body={"title": "Deck", "type": "presentation", "content": content})
    assert response.status_code == 201
    assert response.json()["content"] == content
    assert not Mindmap.objects.filter(document_id=response.json()["id"]).exists()


def test_api_documents_create_markdown_accepts_any_text(team):
    content = '{"not": "json checked"}\n<script>x</script>\t\u2028 emoji 🎉'
    response = _post(team, body={"title": "Free text", "content": content})
    assert response.status_code == 201 and response.json()["content"] == content


@pytest.mark.parametrize(
    "doc_type, content",
    [
        ("markdown", "before\x00after"),
        ("mindmap", ""),
        ("mindmap", "not json"),
        ("mindmap", "[]"),
        ("mindmap", '{"nodes": []}'),
        ("mindmap", '{"edges": []}'),
        ("mindmap", '{"nodes": {}, "edges": []}'),
        ("mindmap", '{"nodes": [], "edges": "none"}'),
        ("mindmap", '"a string"'),
        ("presentation", "{}"),
        ("presentation", '{"slides": {}}'),
        ("presentation", '{"slides": null}'),
        ("presentation", "[1, 2]"),
        ("presentation", "{"),
    ],
)
def test_api_documents_create_invalid_content_is_400_on_content(team, doc_type, content):
    before = state(team.workspace)
    response = _post(team, body={"title": "Bad", "type": doc_type, "content": content})
    assert_validation(response, "content")
    assert state(team.workspace) == before


def test_api_documents_create_content_up_to_5_mib_of_utf8(team):
    at_limit = "é" * (5 * MIB // 2)  # 2 bytes each: exactly 5 MiB
    response = _post(team, body={"title": "Big", "content": at_limit})
    assert response.status_code == 201
    assert response.json()["size_bytes"] == 5 * MIB


def test_api_documents_create_content_over_5_mib_is_413(team):
    before = state(team.workspace)
    response = _post(team, body={"title": "Too big", "content": "é" * (5 * MIB // 2) + "x"})
    assert_problem(response, 413, "payload-too-large")
    assert state(team.workspace) == before


def test_api_documents_create_tags_are_trimmed_and_unique_case_insensitively(team):
    response = _post(team, body={"title": "T", "tags": ["  Alpha ", "alpha", "ALPHA", "beta", "", "   ", "Beta ", "γ"]})
    assert response.status_code == 201
    assert response.json()["tags"] == ["Alpha", "beta", "γ"]  # first spelling wins, case kept
    assert tags_of(Document.objects.get(pk=response.json()["id"])) == ["Alpha", "beta", "γ"]


def test_api_documents_create_metadata_tags_move_to_tags(team):
    response = _post(team, body={"title": "T", "metadata": {"tags": ["one", "Two"], "status": "final"}})
    body = response.json()
    assert body["tags"] == ["one", "Two"]
    assert body["metadata"] == {**DEFAULT_METADATA, "status": "final"} and "tags" not in body["metadata"]
    assert "tags" not in Document.objects.get(pk=body["id"]).metadata


def test_api_documents_create_top_level_tags_win_over_metadata_tags(team):
    response = _post(team, body={"title": "T", "tags": ["top"], "metadata": {"tags": ["nested"]}})
    assert response.json()["tags"] == ["top"] and "tags" not in response.json()["metadata"]


def test_api_documents_create_fifty_tags_of_64_chars_are_allowed(team):
    tags = [f"{i:02d}" + "t" * 62 for i in range(50)]
    response = _post(team, body={"title": "T", "tags": tags})
    assert response.status_code == 201 and response.json()["tags"] == tags


@pytest.mark.parametrize(
    "tags",
    [
        [f"tag{i}" for i in range(51)],
        ["x" * 65],
        ["ok", "y" * 300],
        "not-a-list",
        [1, 2],
        [None],
    ],
)
def test_api_documents_create_bad_tags_are_400(team, tags):
    before = state(team.workspace)
    response = _post(team, body={"title": "T", "tags": tags})
    body = assert_problem(response, 400, "validation-error")
    assert [name for name in body["errors"] if name == "tags" or name.startswith("tags.")], body["errors"]
    assert state(team.workspace) == before
    assert not DocumentTag.objects.exists()


def _fill_to(field: str, size: int, base: dict) -> dict:
    """A value for `field` whose stored JSON (merged with `base`) is exactly `size` bytes."""
    empty = len(json.dumps({**base, "note": ""}, separators=(",", ":")).encode())
    return {"note": "n" * (size - empty)}


@pytest.mark.parametrize("field, defaults", [("metadata", DEFAULT_METADATA), ("settings", DEFAULT_SETTINGS)])
def test_api_documents_create_json_fields_up_to_64_kib(team, field, defaults):
    response = _post(team, body={"title": "T", field: _fill_to(field, 64 * KIB, defaults)})
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("field, defaults", [("metadata", DEFAULT_METADATA), ("settings", DEFAULT_SETTINGS)])
def test_api_documents_create_json_fields_over_64_kib_are_413(team, field, defaults):
    before = state(team.workspace)
    response = _post(team, body={"title": "T", field: _fill_to(field, 64 * KIB + 1, defaults)})
    assert_problem(response, 413, "payload-too-large")
    assert state(team.workspace) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 501}, "title"),
        ({"title": 5}, "title"),
        ({"title": "nul\x00"}, "title"),
        ({"title": "T", "type": "mixed"}, "type"),
        ({"title": "T", "content": 7}, "content"),
        ({"title": "T", "content": None}, "content"),
        ({"title": "T", "metadata": ["a"]}, "metadata"),
        ({"title": "T", "settings": "dark"}, "settings"),
        ({"title": "T", "folder_id": "nope"}, "folder_id"),
        ({"title": "T", "folder_id": str(uuid.uuid4())}, "folder_id"),
    ],
)
def test_api_documents_create_invalid_fields_are_400(team, body, field):
    before = state(team.workspace)
    assert_validation(_post(team, body=body), field)
    assert state(team.workspace) == before


def test_api_documents_create_title_of_500_chars_is_allowed(team):
    assert _post(team, body={"title": "t" * 500}).status_code == 201


def test_api_documents_create_in_a_folder(team):
    folder = FolderFactory(workspace=team.workspace)
    response = _post(team, body={**BODY, "folder_id": str(folder.pk)})
    assert response.status_code == 201 and response.json()["folder_id"] == str(folder.pk)


def test_api_documents_create_in_a_folder_of_another_workspace_is_400(team):
    foreign = FolderFactory()
    before = state(team.workspace)
    assert_validation(_post(team, body={**BODY, "folder_id": str(foreign.pk)}), "folder_id")
    assert state(team.workspace) == before


def test_api_documents_create_in_a_deleted_folder_is_400(team):
    folder = FolderFactory(workspace=team.workspace)
    client = team.client("owner")
    assert client.delete(f"/api/v1/folders/{folder.pk}").status_code == 204
    assert_validation(_post(team, body={**BODY, "folder_id": str(folder.pk)}), "folder_id")


def test_api_documents_create_read_only_fields_are_ignored(team):
    body = {**BODY, "content_hash": "0" * 64, "view_count": 99, "version_count": 7, "deleted": True}
    response = _post(team, body=body)
    assert response.status_code == 201
    data = response.json()
    assert data["content_hash"] == sha(BODY["content"]) and data["view_count"] == 0 and data["deleted"] is False


def test_api_documents_create_unknown_or_deleted_workspace_is_404(team):
    client = team.client("owner")
    assert_problem(client.post(docs_url(uuid.uuid4()), BODY, format="json"), 404, "not-found")
    assert_problem(client.post(docs_url("not-a-uuid"), BODY, format="json"), 404, "not-found")
    gone = WorkspaceFactory(owner=team.user("owner"))
    workspace_soft_delete(workspace=gone, actor=team.user("owner"))
    assert_problem(client.post(docs_url(gone), BODY, format="json"), 404, "not-found")
    assert not Document.objects.exists()


def test_api_documents_create_malformed_json_and_wrong_media_type(team):
    client = team.client("owner")
    response = client.post(docs_url(team.workspace), "{not json", content_type="application/json")
    assert_problem(response, 400, "invalid-json")
    response = client.post(docs_url(team.workspace), "title=x", content_type="application/x-www-form-urlencoded")
    assert_problem(response, 415, "unsupported-media-type")
    assert not Document.objects.exists()


def test_api_documents_create_sync_seq_increases_by_one_per_document(team):
    seq = last_seq(team.workspace)
    ids = [_post(team, body={"title": f"D{i}", "content": f"text {i}"}).json()["id"] for i in range(3)]
    entries = sync_entries(team.workspace, after=seq)
    assert_consecutive(entries, seq)
    assert [str(e.entity_id) for e in entries] == ids
    assert {e.operation for e in entries} == {SyncLog.Operation.CREATE}
    for entry in entries:
        assert_clean_sync(entry)


def test_api_documents_create_other_workspace_member_cannot_create_here(team):
    outsider_workspace = WorkspaceFactory()
    client = client_for(outsider_workspace.owner)
    assert_problem(client.post(docs_url(team.workspace), BODY, format="json"), 404, "not-found")
    assert not Document.objects.exists()
