"""PUT documents/{id}: flag edit; If-Match required (428), stale → 412 with server_version, `*` forces."""

import json

import pytest

from documents.models import DocumentVersion, Mindmap
from documents.services.documents import document_delete
from documents.tests.factories import DocumentFactory, FolderFactory
from documents.tests.helpers import (
    ACTORS,
    EDITORS,
    MIB,
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
    ts,
    user_summary,
)

pytestmark = pytest.mark.django_db

NEW = {"title": "Design notes v2", "content": "# Plan\n\nFirst line.\nSecond line.\n"}


def _put(team, document, actor="owner", body=None, if_match=None):
    headers = {} if if_match is None else {"HTTP_IF_MATCH": if_match}
    return team.client(actor).put(doc_url(document), body if body is not None else NEW, format="json", **headers)


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_update_every_actor(team, document, actor):
    before, seq = state(team.workspace), last_seq(team.workspace)
    old = fresh(document)
    response = _put(team, document, actor, if_match=etag(document))
    if not allowed(response, actor, EDITORS):
        assert state(team.workspace) == before
        return
    body = response.json()
    stored = fresh(document)
    assert response["ETag"] == f'"{sha(NEW["content"])}"' == f'"{stored.content_hash}"'
    assert_document_matches(body, stored, user=team.user(actor), role=actor)
    assert (stored.title, stored.content) == (NEW["title"], NEW["content"])
    assert stored.updated_by == team.user(actor) and stored.last_edited_at > old.last_edited_at
    assert stored.updated_at > old.updated_at
    assert stored.metadata == old.metadata and stored.settings == old.settings and tags_of(stored) == []
    latest = stored.versions.order_by("-version_number").first()
    assert (latest.content, latest.title, latest.source, latest.created_by) == (
        NEW["content"],
        NEW["title"],
        "auto",
        team.user(actor),
    )
    # The owner wrote version 1 a moment ago: their auto version coalesces; anyone else starts a new one.
    assert latest.version_number == (1 if actor == "owner" else 2)
    entries = sync_entries(team.workspace, after=seq)
    assert_consecutive(entries, seq)
    assert [(e.entity_id, e.operation, e.changed_by) for e in entries] == [(document.pk, "update", team.user(actor))]
    changes = entries[0].changes
    assert set(changes["new"]) == {"title", "content_hash", "size_bytes", "word_count", "updated_at"}
    assert changes["old"]["title"] == "Design notes" and changes["new"]["title"] == NEW["title"]
    assert changes["old"]["content_hash"] == old.content_hash and changes["new"]["content_hash"] == stored.content_hash
    assert entries[0].content_hash == stored.content_hash
    assert_clean_sync(entries[0])


def test_api_documents_update_without_if_match_is_428(team, document):
    before = state(team.workspace)
    assert_problem(_put(team, document), 428, "precondition-required")
    assert state(team.workspace) == before


@pytest.mark.parametrize("header", ['"0000"', 'W/"0000"', '"{h}0"', "", '"", "abc"'])
def test_api_documents_update_stale_if_match_is_412_with_the_server_version(team, document, header):
    team.client("editor").patch(
        doc_url(document), {"content": "edited by the editor"}, format="json", HTTP_IF_MATCH=etag(document)
    )
    current = fresh(document)
    before = state(team.workspace)
    response = _put(team, document, "admin", if_match=header.format(h=document.content_hash))
    body = assert_problem(response, 412, "edit-conflict")
    assert body["server_version"] == {
        "content_hash": current.content_hash,
        "title": current.title,
        "updated_at": ts(current.updated_at),
        "updated_by": user_summary(team.user("editor")),
    }
    assert state(team.workspace) == before


@pytest.mark.parametrize(
    "header",
    ['"{h}"', "{h}", 'W/"{h}"', '"0000", "{h}"', '"0000" , W/"{h}"', "*", '"0000", *'],
)
def test_api_documents_update_if_match_forms_that_pass(team, document, header):
    response = _put(team, document, if_match=header.format(h=document.content_hash))
    assert response.status_code == 200
    assert fresh(document).content == NEW["content"]


def test_api_documents_update_star_forces_over_a_newer_version(team, document):
    stale = etag(document)
    assert (
        _put(team, document, "editor", body={"title": "Theirs", "content": "theirs"}, if_match=stale).status_code == 200
    )
    assert_problem(
        _put(team, document, "admin", body={"title": "Mine", "content": "mine"}, if_match=stale), 412, "edit-conflict"
    )
    response = _put(team, document, "admin", body={"title": "Mine", "content": "mine"}, if_match="*")
    assert response.status_code == 200 and response.json()["content"] == "mine"
    assert [v.content for v in fresh(document).versions.order_by("version_number")] == [
        "# Plan\n\nFirst line.\n",
        "theirs",
        "mine",
    ]


@pytest.mark.parametrize("missing", ["title", "content"])
def test_api_documents_update_title_and_content_are_required(team, document, missing):
    before = state(team.workspace)
    body = {name: value for name, value in NEW.items() if name != missing}
    assert_validation(_put(team, document, body=body, if_match="*"), missing)
    assert state(team.workspace) == before


def test_api_documents_update_optional_fields_are_unchanged_when_omitted(team):
    folder = FolderFactory(workspace=team.workspace)
    document = DocumentFactory(
        workspace=team.workspace,
        tags=["keep"],
        metadata={"status": "final"},
        settings={"ai_enabled": False},
        folder=folder,
    )
    _put(team, document, if_match="*")
    stored = fresh(document)
    assert tags_of(stored) == ["keep"] and stored.metadata["status"] == "final"
    assert stored.settings["ai_enabled"] is False and stored.folder_id == folder.pk


def test_api_documents_update_optional_fields_when_sent(team, document):
    folder = FolderFactory(workspace=team.workspace)
    body = {
        **NEW,
        "tags": ["x", " X ", "y"],
        "metadata": {"priority": "low"},
        "settings": {"auto_save": False},
        "folder_id": str(folder.pk),
    }
    response = _put(team, document, body=body, if_match="*")
    assert response.status_code == 200
    data = response.json()
    assert data["tags"] == ["x", "y"] and data["folder_id"] == str(folder.pk)
    assert data["metadata"]["priority"] == "low" and data["metadata"]["status"] == "draft"
    assert data["settings"]["auto_save"] is False and data["settings"]["ai_enabled"] is True
    assert fresh(document).versions.first().metadata_snapshot["tags"] == ["x", "y"]


def test_api_documents_update_unchanged_body_writes_nothing(team, document):
    before = state(team.workspace)
    body = {"title": document.title, "content": document.content}
    response = _put(team, document, body=body, if_match=etag(document))
    assert response.status_code == 200 and response["ETag"] == f'"{document.content_hash}"'
    assert state(team.workspace) == before


def test_api_documents_update_mindmap_rewrites_the_projection(team):
    mindmap = DocumentFactory(workspace=team.workspace, mindmap=True)
    content = {"nodes": [{"id": "n1"}, {"id": "n2"}], "edges": [{"from": "n1", "to": "n2"}], "layout_type": "org"}
    response = _put(team, mindmap, body={"title": "Map", "content": json.dumps(content)}, if_match=etag(mindmap))
    assert response.status_code == 200
    projection = Mindmap.objects.get(document=mindmap)
    assert (projection.nodes, projection.edges, projection.layout_type) == (content["nodes"], content["edges"], "org")


@pytest.mark.parametrize("content", ['{"nodes": []}', "[]", "nope", '{"nodes": [], "edges": {}}'])
def test_api_documents_update_invalid_mindmap_is_400_and_keeps_everything(team, content):
    mindmap = DocumentFactory(workspace=team.workspace, mindmap=True)
    before = state(team.workspace)
    assert_validation(_put(team, mindmap, body={"title": "Map", "content": content}, if_match="*"), "content")
    assert state(team.workspace) == before


def test_api_documents_update_presentation_needs_slides(team):
    deck = DocumentFactory(workspace=team.workspace, presentation=True)
    before = state(team.workspace)
    assert_validation(_put(team, deck, body={"title": "Deck", "content": '{"pages": []}'}, if_match="*"), "content")
    assert state(team.workspace) == before
    ok = _put(team, deck, body={"title": "Deck", "content": '{"slides": []}'}, if_match="*")
    assert ok.status_code == 200 and fresh(deck).content == '{"slides": []}'


def test_api_documents_update_content_over_5_mib_is_413(team, document):
    before = state(team.workspace)
    response = _put(team, document, body={"title": "Big", "content": "a" * (5 * MIB + 1)}, if_match="*")
    assert_problem(response, 413, "payload-too-large")
    assert state(team.workspace) == before


def test_api_documents_update_read_only_fields_are_ignored(team, document):
    body = {
        **NEW,
        "id": "00000000-0000-4000-8000-000000000000",
        "content_hash": "f" * 64,
        "view_count": 9,
        "type": "mindmap",
        "workspace_id": "00000000-0000-4000-8000-000000000000",
    }
    response = _put(team, document, body=body, if_match="*")
    assert response.status_code == 200
    stored = fresh(document)
    assert (str(stored.pk), stored.type, stored.view_count, stored.workspace_id) == (
        str(document.pk),
        "markdown",
        0,
        team.workspace.pk,
    )
    assert stored.content_hash == sha(NEW["content"])


def test_api_documents_update_deleted_document_is_404(team, document):
    document_delete(actor=team.user("owner"), document=document)
    before = state(team.workspace)
    assert_problem(_put(team, document, if_match="*"), 404, "not-found")
    assert state(team.workspace) == before


def test_api_documents_update_by_two_authors_keeps_one_version_each(team, document):
    for actor, text in (("editor", "one"), ("editor", "two"), ("admin", "three"), ("editor", "four")):
        assert _put(team, document, actor, body={"title": "T", "content": text}, if_match="*").status_code == 200
    versions = list(DocumentVersion.objects.filter(document=document).order_by("version_number"))
    assert [(v.version_number, v.content, v.created_by) for v in versions] == [
        (1, "# Plan\n\nFirst line.\n", team.user("owner")),
        (2, "two", team.user("editor")),
        (3, "three", team.user("admin")),
        (4, "four", team.user("editor")),
    ]


@pytest.mark.parametrize(
    "actor, status", [("commenter", 403), ("viewer", 403), ("non_member", 404), ("anonymous", 401)]
)
def test_api_documents_update_refusal_comes_before_preconditions_and_validation(team, document, actor, status):
    before = state(team.workspace)
    assert_refused(_put(team, document, actor, body={"title": ""}), status)
    assert state(team.workspace) == before
