"""PATCH documents/{id}: flag edit, star-only needs read access; If-Match required with content, honoured otherwise."""

import json

import pytest

from documents.models import DocumentStar, DocumentVersion, Mindmap
from documents.services.documents import document_delete
from documents.tests.factories import DocumentFactory, FolderFactory
from documents.tests.helpers import (
    ACTORS,
    DEFAULT_METADATA,
    EDITORS,
    KIB,
    READERS,
    allowed,
    assert_clean_sync,
    assert_consecutive,
    assert_document_matches,
    assert_problem,
    assert_refused,
    assert_validation,
    doc_url,
    etag,
    fresh,
    last_seq,
    sha,
    state,
    sync_entries,
    tags_of,
)

pytestmark = pytest.mark.django_db


def _patch(team, document, body, actor="owner", if_match=None):
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
    return team.client(actor).patch(doc_url(document), body, format="json", **headers)


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_partial_update_title_every_actor(team, document, actor):
    before, seq = state(team.workspace), last_seq(team.workspace)
    response = _patch(team, document, {"title": "Renamed"}, actor)
    if not allowed(response, actor, EDITORS):
        assert state(team.workspace) == before
        return
    stored = fresh(document)
    assert_document_matches(response.json(), stored, user=team.user(actor), role=actor)
    assert stored.title == "Renamed" and stored.updated_by == team.user(actor)
    assert stored.content == document.content and response["ETag"] == f'"{document.content_hash}"'
    assert stored.versions.count() == 1  # a title alone does not version
    entries = sync_entries(team.workspace, after=seq)
    assert_consecutive(entries, seq)
    assert [(e.operation, e.entity_id) for e in entries] == [("update", document.pk)]
    assert set(entries[0].changes["new"]) == {"title", "updated_at"}
    assert entries[0].changes["old"]["title"] == "Design notes"
    assert_clean_sync(entries[0])


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_partial_update_star_only_needs_read_access(team, document, actor):
    before, seq = state(team.workspace), last_seq(team.workspace)
    response = _patch(team, document, {"is_starred": True}, actor)
    if not allowed(response, actor, READERS):
        assert state(team.workspace) == before
        return
    assert response.json()["is_starred"] is True
    assert_document_matches(response.json(), document, user=team.user(actor), role=actor)
    assert DocumentStar.objects.filter(user=team.user(actor), document=document).exists()
    assert fresh(document).updated_at == document.updated_at and last_seq(team.workspace) == seq
    response = _patch(team, document, {"is_starred": False}, actor)
    assert response.json()["is_starred"] is False
    assert not DocumentStar.objects.filter(document=document).exists()


@pytest.mark.parametrize("actor", ["commenter", "viewer"])
def test_api_documents_partial_update_star_with_another_field_needs_edit(team, document, actor):
    before = state(team.workspace)
    assert_refused(_patch(team, document, {"is_starred": True, "title": "Sneaky"}, actor), 403)
    assert state(team.workspace) == before


def test_api_documents_partial_update_content_without_if_match_is_428(team, document):
    before = state(team.workspace)
    assert_problem(_patch(team, document, {"content": "new"}), 428, "precondition-required")
    assert state(team.workspace) == before


def test_api_documents_partial_update_refused_content_does_not_star_either(team, document):
    before = state(team.workspace)
    assert_problem(_patch(team, document, {"content": "new", "is_starred": True}), 428, "precondition-required")
    assert_problem(
        _patch(team, document, {"content": "new", "is_starred": True}, if_match='"stale"'), 412, "edit-conflict"
    )
    assert_validation(_patch(team, document, {"title": "", "is_starred": True}), "title")
    assert state(team.workspace) == before


def test_api_documents_partial_update_content_with_if_match(team, document):
    response = _patch(team, document, {"content": "# Plan\n\nChanged.\n"}, "editor", if_match=etag(document))
    assert response.status_code == 200
    stored = fresh(document)
    assert stored.content == "# Plan\n\nChanged.\n" and response["ETag"] == f'"{sha(stored.content)}"'
    version = stored.versions.get(version_number=2)
    assert (version.source, version.created_by, version.content) == ("auto", team.user("editor"), stored.content)
    assert version.changes_summary == {"lines_added": 0, "lines_removed": 0, "lines_modified": 1}


def test_api_documents_partial_update_content_and_star_together(team, document):
    response = _patch(team, document, {"content": "both", "is_starred": True}, "editor", if_match="*")
    assert response.status_code == 200
    assert response.json()["is_starred"] is True and response.json()["content"] == "both"
    assert DocumentStar.objects.filter(user=team.user("editor"), document=document).exists()


def test_api_documents_partial_update_metadata_only_honours_a_stale_if_match(team, document):
    before = state(team.workspace)
    response = _patch(team, document, {"metadata": {"status": "final"}}, if_match='"0000"')
    body = assert_problem(response, 412, "edit-conflict")
    assert body["server_version"]["content_hash"] == document.content_hash
    assert state(team.workspace) == before


@pytest.mark.parametrize("header", [None, "*", "current"])
def test_api_documents_partial_update_metadata_only_with_or_without_if_match(team, document, header):
    if_match = etag(document) if header == "current" else header
    response = _patch(team, document, {"metadata": {"status": "final", "extra": [1, 2]}}, if_match=if_match)
    assert response.status_code == 200
    assert fresh(document).metadata == {**DEFAULT_METADATA, "status": "final", "extra": [1, 2]}


def test_api_documents_partial_update_metadata_merges_and_syncs_only_it(team, document):
    seq = last_seq(team.workspace)
    _patch(team, document, {"metadata": {"category": "specs"}})
    entry = sync_entries(team.workspace, after=seq)[0]
    assert set(entry.changes["new"]) == {"metadata", "updated_at"}
    assert entry.changes["old"]["metadata"] == DEFAULT_METADATA
    assert entry.changes["new"]["metadata"] == {**DEFAULT_METADATA, "category": "specs"}
    assert_clean_sync(entry)


def test_api_documents_partial_update_settings_merge(team, document):
    response = _patch(team, document, {"settings": {"editor_mode": "source"}})
    assert response.json()["settings"]["editor_mode"] == "source"
    assert response.json()["settings"]["auto_save"] is True


def test_api_documents_partial_update_tags_replace_the_list(team):
    document = DocumentFactory(workspace=team.workspace, tags=["old", "keep"])
    seq = last_seq(team.workspace)
    response = _patch(team, document, {"tags": [" keep ", "New", "new", "KEEP"]})
    assert response.json()["tags"] == ["keep", "New"] and tags_of(document) == ["keep", "New"]
    entry = sync_entries(team.workspace, after=seq)[0]
    assert set(entry.changes["new"]) == {"tags", "updated_at"}
    assert (entry.changes["old"]["tags"], entry.changes["new"]["tags"]) == (["old", "keep"], ["keep", "New"])


def test_api_documents_partial_update_metadata_tags_move_to_tags(team, document):
    response = _patch(team, document, {"metadata": {"tags": ["from-metadata"], "priority": "high"}})
    body = response.json()
    assert body["tags"] == ["from-metadata"]
    assert body["metadata"] == {**DEFAULT_METADATA, "priority": "high"}
    assert "tags" not in fresh(document).metadata


def test_api_documents_partial_update_empty_tags_clear_them(team):
    document = DocumentFactory(workspace=team.workspace, tags=["a", "b"])
    assert _patch(team, document, {"tags": []}).json()["tags"] == []
    assert tags_of(document) == []


@pytest.mark.parametrize("field", ["metadata", "settings"])
def test_api_documents_partial_update_json_fields_over_64_kib_are_413(team, document, field):
    before = state(team.workspace)
    response = _patch(team, document, {field: {"blob": "x" * (64 * KIB)}})
    assert_problem(response, 413, "payload-too-large")
    assert state(team.workspace) == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"title": "x" * 501}, "title"),
        ({"tags": [f"t{i}" for i in range(51)]}, "tags"),
        ({"tags": ["x" * 65]}, "tags"),
        ({"metadata": "flat"}, "metadata"),
        ({"settings": [1]}, "settings"),
        ({"is_starred": "yes"}, "is_starred"),
        ({"is_starred": 1}, "is_starred"),
        ({"folder_id": "nope"}, "folder_id"),
        ({"folder_id": 3}, "folder_id"),
    ],
)
def test_api_documents_partial_update_invalid_fields_are_400(team, document, body, field):
    before = state(team.workspace)
    assert_validation(_patch(team, document, body, if_match="*"), field)
    assert state(team.workspace) == before


def test_api_documents_partial_update_moves_between_folders_and_to_the_root(team, document):
    folder = FolderFactory(workspace=team.workspace)
    seq = last_seq(team.workspace)
    response = _patch(team, document, {"folder_id": str(folder.pk)}, "editor")
    assert response.json()["folder_id"] == str(folder.pk) and fresh(document).folder_id == folder.pk
    entry = sync_entries(team.workspace, after=seq)[0]
    assert entry.changes["new"]["folder_id"] == str(folder.pk) and entry.changes["old"]["folder_id"] is None
    assert "title" not in entry.changes["new"]
    assert _patch(team, document, {"folder_id": None}).json()["folder_id"] is None


def test_api_documents_partial_update_into_a_foreign_folder_is_400(team, document):
    foreign = FolderFactory()
    before = state(team.workspace)
    assert_validation(_patch(team, document, {"folder_id": str(foreign.pk)}), "folder_id")
    assert state(team.workspace) == before


def test_api_documents_partial_update_mindmap_content_rewrites_the_projection(team):
    mindmap = DocumentFactory(workspace=team.workspace, mindmap=True)
    content = {"nodes": [{"id": "x"}], "edges": [], "layout": {"type": "mind"}}
    response = _patch(team, mindmap, {"content": json.dumps(content)}, if_match=etag(mindmap))
    assert response.status_code == 200
    projection = Mindmap.objects.get(document=mindmap)
    assert projection.nodes == [{"id": "x"}] and projection.edges == [] and projection.layout_type == "mind"
    before = Mindmap.objects.get(document=mindmap).updated_at
    _patch(team, mindmap, {"title": "Renamed map"})
    assert Mindmap.objects.get(document=mindmap).updated_at == before


def test_api_documents_partial_update_invalid_mindmap_keeps_the_projection(team):
    mindmap = DocumentFactory(workspace=team.workspace, mindmap=True)
    before = state(team.workspace)
    response = _patch(team, mindmap, {"content": '{"nodes": "x", "edges": []}'}, if_match="*")
    assert_validation(response, "content")
    assert state(team.workspace) == before


def test_api_documents_partial_update_nul_in_markdown_is_400_on_content(team, document):
    before = state(team.workspace)
    assert_validation(_patch(team, document, {"content": "a\x00b"}, if_match="*"), "content")
    assert state(team.workspace) == before


def test_api_documents_partial_update_empty_body_changes_nothing(team, document):
    before = state(team.workspace)
    response = _patch(team, document, {"unknown": 1}, "viewer")
    assert response.status_code == 200 and response.json()["title"] == "Design notes"
    assert state(team.workspace) == before


def test_api_documents_partial_update_deleted_document_is_404(team, document):
    document_delete(actor=team.user("owner"), document=document)
    before = state(team.workspace)
    assert_problem(_patch(team, document, {"title": "x"}), 404, "not-found")
    assert_problem(_patch(team, document, {"is_starred": True}, "viewer"), 404, "not-found")
    assert state(team.workspace) == before


def test_api_documents_partial_update_same_author_coalesces_other_author_does_not(team, document):
    for actor, text in (("editor", "e1"), ("editor", "e2"), ("admin", "a1")):
        assert _patch(team, document, {"content": text}, actor, if_match="*").status_code == 200
    assert list(
        DocumentVersion.objects.filter(document=document).order_by("version_number").values_list("content", "source")
    ) == [("# Plan\n\nFirst line.\n", "auto"), ("e2", "auto"), ("a1", "auto")]


@pytest.mark.parametrize(
    "actor, status", [("commenter", 403), ("viewer", 403), ("non_member", 404), ("anonymous", 401)]
)
def test_api_documents_partial_update_refusal_comes_before_validation(team, document, actor, status):
    before = state(team.workspace)
    assert_refused(_patch(team, document, {"title": "", "tags": "not-a-list"}, actor), status)
    assert state(team.workspace) == before


@pytest.mark.parametrize("body", [[1, 2], [[1]], "text", 5, None])
def test_api_documents_partial_update_non_object_body_is_400(team, document, body):
    before = state(team.workspace)
    response = team.client("owner").patch(doc_url(document), json.dumps(body), content_type="application/json")
    assert_problem(response, 400, "validation-error")
    assert state(team.workspace) == before


def test_api_documents_partial_update_star_with_unknown_fields_is_still_star_only(team, document):
    response = _patch(team, document, {"is_starred": True, "unknown": 1, "content_hash": "x"}, "viewer")
    assert response.status_code == 200 and response.json()["is_starred"] is True
