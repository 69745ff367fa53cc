"""POST documents/{id}/restore-version: flag edit; old title and content written as a new `restore` version."""

import pytest

from documents.models import Document, DocumentVersion, Mindmap
from documents.services.documents import document_delete
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import (
    ACTORS,
    EDITORS,
    assert_clean_sync,
    assert_consecutive,
    assert_problem,
    assert_refused,
    assert_validation,
    doc_url,
    fresh,
    last_seq,
    outcome,
    sha,
    state,
    sync_entries,
    tags_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def edited(team):
    """v1 by the owner ("First" / "alpha\\n"), v2 by the editor ("Second" / "alpha\\nbeta\\n")."""
    document = DocumentFactory(workspace=team.workspace, title="First", content="alpha\n", tags=["keep"])
    team.client("editor").put(
        doc_url(document), {"title": "Second", "content": "alpha\nbeta\n"}, format="json", HTTP_IF_MATCH="*"
    )
    return fresh(document)


def _restore(team, document, number, actor="owner"):
    return team.client(actor).post(doc_url(document, "/restore-version"), {"version_number": number}, format="json")


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_restore_every_actor(team, edited, actor):
    before, seq = state(team.workspace), last_seq(team.workspace)
    history = list(DocumentVersion.objects.filter(document=edited).order_by("version_number").values())
    response = _restore(team, edited, 1, actor)
    expected = outcome(actor, EDITORS)
    if expected != 200:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 200
    assert response.json() == {"new_version_number": 3, "content_hash": sha("alpha\n")}
    assert response["ETag"] == '"{}"'.format(sha("alpha\n"))
    stored = fresh(edited)
    assert (stored.title, stored.content, stored.content_hash) == ("First", "alpha\n", sha("alpha\n"))
    assert stored.updated_by == team.user(actor) and tags_of(stored) == ["keep"]
    # History is never rewritten: v1 and v2 are as they were; v3 is the restore.
    assert (
        list(DocumentVersion.objects.filter(document=edited, version_number__lte=2).order_by("version_number").values())
        == history
    )
    restored = DocumentVersion.objects.get(document=edited, version_number=3)
    assert (restored.source, restored.restored_from, restored.content, restored.title, restored.created_by) == (
        "restore",
        1,
        "alpha\n",
        "First",
        team.user(actor),
    )
    assert restored.changes_summary == {"lines_added": 0, "lines_removed": 1, "lines_modified": 0}
    entries = sync_entries(team.workspace, after=seq)
    assert_consecutive(entries, seq)
    assert [(e.entity_id, e.operation) for e in entries] == [(edited.pk, "update")]
    assert set(entries[0].changes["new"]) == {"title", "content_hash", "size_bytes", "word_count", "updated_at"}
    assert entries[0].content_hash == sha("alpha\n")
    assert_clean_sync(entries[0])


def test_api_documents_restore_keeps_an_unversioned_current_state_first(team, edited):
    # A write that recorded no version (as a live-session materialization may) leaves the current state unversioned.
    Document.objects.filter(pk=edited.pk).update(content="unsaved\n", content_hash=sha("unsaved\n"), title="Live")
    response = _restore(team, edited, 1, "admin")
    assert response.status_code == 200 and response.json()["new_version_number"] == 4
    kept = DocumentVersion.objects.get(document=edited, version_number=3)
    assert (kept.source, kept.content, kept.content_hash, kept.title, kept.created_by) == (
        "manual",
        "unsaved\n",
        sha("unsaved\n"),
        "Live",
        team.user("admin"),
    )
    assert kept.change_description == "Before restoring version 1"
    restored = DocumentVersion.objects.get(document=edited, version_number=4)
    assert (restored.source, restored.restored_from, restored.content) == ("restore", 1, "alpha\n")
    assert fresh(edited).content == "alpha\n"


def test_api_documents_restore_adds_no_manual_version_when_the_latest_holds_the_state(team, edited):
    _restore(team, edited, 1)
    assert list(edited.versions.order_by("version_number").values_list("source", flat=True)) == [
        "auto",
        "auto",
        "restore",
    ]


def test_api_documents_restore_of_the_current_content_still_records_it(team, edited):
    response = _restore(team, edited, 2)
    assert response.status_code == 200 and response.json()["new_version_number"] == 3
    assert edited.versions.get(version_number=3).source == "restore"
    assert fresh(edited).content == "alpha\nbeta\n"


def test_api_documents_restore_then_an_edit_by_the_same_user_is_a_new_auto_version(team, edited):
    _restore(team, edited, 1, "editor")
    team.client("editor").patch(doc_url(edited), {"content": "after"}, format="json", HTTP_IF_MATCH="*")
    assert list(edited.versions.order_by("version_number").values_list("source", "content")) == [
        ("auto", "alpha\n"),
        ("auto", "alpha\nbeta\n"),
        ("restore", "alpha\n"),
        ("auto", "after"),
    ]


def test_api_documents_restore_a_mindmap_rewrites_the_projection(team):
    mindmap = DocumentFactory(workspace=team.workspace, mindmap=True)
    team.client("editor").patch(
        doc_url(mindmap), {"content": '{"nodes": [], "edges": []}'}, format="json", HTTP_IF_MATCH="*"
    )
    assert Mindmap.objects.get(document=mindmap).nodes == []
    assert _restore(team, mindmap, 1).status_code == 200
    assert Mindmap.objects.get(document=mindmap).nodes == [{"id": "root", "label": "Root"}]


@pytest.mark.parametrize("number", [3, 99])
def test_api_documents_restore_unknown_version_is_404(team, edited, number):
    before = state(team.workspace)
    assert_problem(_restore(team, edited, number), 404, "not-found")
    assert state(team.workspace) == before


@pytest.mark.parametrize(
    "body", [{}, {"version_number": 0}, {"version_number": "one"}, {"version_number": None}, {"version_number": -2}]
)
def test_api_documents_restore_bad_body_is_400(team, edited, body):
    before = state(team.workspace)
    response = team.client("owner").post(doc_url(edited, "/restore-version"), body, format="json")
    assert_validation(response, "version_number")
    assert state(team.workspace) == before


def test_api_documents_restore_on_a_deleted_document_is_404(team, edited):
    document_delete(actor=team.user("owner"), document=edited)
    before = state(team.workspace)
    assert_problem(_restore(team, edited, 1), 404, "not-found")
    assert state(team.workspace) == before
