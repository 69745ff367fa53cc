"""Document services without HTTP: hashes, derived fields, search vector, projection, sync log, views."""

import json

import pytest
from django.conf import settings
from django.db import connection

from accounts.tests.factories import UserFactory
from documents.content import content_hash
from documents.errors import EditConflictError, PreconditionRequiredError
from documents.models import Document, Mindmap
from documents.services.documents import (
    document_create,
    document_delete,
    document_record_view,
    document_undelete,
    document_update,
)
from documents.services.folders import folder_create, folder_update
from documents.tests.helpers import assert_clean_sync, assert_consecutive, last_seq, sha, state, sync_entries
from mdcreator.errors import PayloadTooLargeError, ValidationProblem
from workspaces.selectors import workspace_get
from workspaces.services.workspaces import workspace_create
from workspaces.tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def workspace():
    return WorkspaceFactory()


def _create(workspace, **data):
    return document_create(actor=workspace.owner, workspace=workspace, data={"title": "T", **data})


def test_services_documents_hash_size_and_words_follow_every_write(workspace):
    document = _create(workspace, content="héllo world")
    assert document.content_hash == sha("héllo world") == content_hash("héllo world")
    assert (document.size_bytes, document.word_count) == (12, 2)
    document = document_update(actor=workspace.owner, document=document, data={"content": "a b c"}, if_match="*")
    stored = Document.objects.get(pk=document.pk)
    assert (stored.content_hash, stored.size_bytes, stored.word_count) == (sha("a b c"), 5, 3)


def test_services_documents_preconditions(workspace):
    document = _create(workspace, content="x")
    with pytest.raises(PreconditionRequiredError):
        document_update(actor=workspace.owner, document=document, data={"content": "y"}, if_match=None)
    with pytest.raises(EditConflictError) as conflict:
        document_update(actor=workspace.owner, document=document, data={"title": "U"}, if_match='"nope"')
    assert conflict.value.extra["server_version"]["content_hash"] == sha("x")
    document_update(actor=workspace.owner, document=document, data={"title": "U"}, if_match=None)
    document_update(actor=workspace.owner, document=document, data={"content": "y"}, if_match=f'W/"{sha("x")}"')
    assert Document.objects.get(pk=document.pk).content == "y"


def test_services_documents_refused_writes_consume_no_sync_seq(workspace):
    document = _create(workspace, content="x")
    before = state(workspace)
    for data, if_match, error in (
        ({"content": "y"}, '"stale"', EditConflictError),
        ({"content": "a" * (5 * 1024 * 1024 + 1)}, "*", PayloadTooLargeError),
        ({"title": "ok", "folder_id": document.pk}, None, ValidationProblem),
        ({"title": "ok", "tags": ["t" * 65]}, None, ValidationProblem),
    ):
        with pytest.raises(error):
            document_update(actor=workspace.owner, document=document, data=data, if_match=if_match)
    assert state(workspace) == before


def test_services_documents_sync_seq_is_gap_free_across_entities(workspace):
    seq = last_seq(workspace)
    actor = workspace.owner
    folder = folder_create(actor=actor, workspace=workspace, data={"name": "F"})
    document = _create(workspace, content="1", folder_id=folder.pk)
    document_update(actor=actor, document=document, data={"content": "2"}, if_match="*")
    folder_update(actor=actor, folder=folder, data={"name": "G"})
    document_delete(actor=actor, document=document)
    document_delete(actor=actor, document=document)  # already in the trash: no entry
    document_undelete(actor=actor, document=document)
    entries = sync_entries(workspace, after=seq)
    assert_consecutive(entries, seq)
    assert [(e.entity_type, e.operation) for e in entries] == [
        ("folder", "create"),
        ("document", "create"),
        ("document", "update"),
        ("folder", "update"),
        ("document", "delete"),
        ("document", "update"),
    ]
    for entry in entries:
        assert_clean_sync(entry)
        assert json.dumps(entry.data).find('"content"') == -1
    assert entries[2].changes["old"]["content_hash"] == sha("1")
    assert entries[2].changes["new"]["content_hash"] == sha("2") == entries[2].content_hash


def test_services_documents_sync_never_copies_content(workspace):
    secret = "the body itself must never be copied"
    document = _create(workspace, content=secret)
    document_update(actor=workspace.owner, document=document, data={"content": secret + "!"}, if_match="*")
    for entry in sync_entries(workspace):
        assert secret not in json.dumps(entry.data) and secret not in json.dumps(entry.changes)


def test_services_documents_update_without_changes_writes_nothing(workspace):
    document = _create(workspace, content="same", tags=["a"])
    before = state(workspace)
    document_update(
        actor=workspace.owner, document=document, data={"content": "same", "title": "T", "tags": [" a "]}, if_match="*"
    )
    assert state(workspace) == before


def test_services_documents_mindmap_projection_follows_content(workspace):
    content = {"nodes": [{"id": 1}], "edges": []}
    document = _create(workspace, type="mindmap", content=json.dumps(content))
    assert Mindmap.objects.get(document=document).nodes == [{"id": 1}]
    content = {"nodes": [{"id": 1}, {"id": 2}], "edges": [[1, 2]], "layout": {"type": "radial"}}
    document_update(actor=workspace.owner, document=document, data={"content": json.dumps(content)}, if_match="*")
    projection = Mindmap.objects.get(document=document)
    assert (projection.nodes, projection.edges, projection.layout_type) == (content["nodes"], [[1, 2]], "radial")
    markdown = _create(workspace, content='{"nodes": [], "edges": []}')
    assert not Mindmap.objects.filter(document=markdown).exists()


def test_services_documents_search_vector_holds_title_content_and_tags(workspace):
    document = _create(workspace, title="Orbital", content="telescope mirror", tags=["Optics"])
    stored = Document.objects.get(pk=document.pk)
    if not settings.IS_POSTGRES:
        assert stored.search_vector is None  # the embedded default searches the text directly
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector::text FROM documents_document WHERE id = %s", [document.pk])
        vector = cursor.fetchone()[0]
    assert "'orbit':1A" in vector and "'telescop':2B" in vector and "'optic':4C" in vector
    document_update(actor=workspace.owner, document=document, data={"tags": ["Lenses"]}, if_match=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_vector::text FROM documents_document WHERE id = %s", [document.pk])
        vector = cursor.fetchone()[0]
    assert "'lens':4C" in vector and "optic" not in vector


def test_services_documents_views_count_once_per_window_without_touching_updated_at(workspace):
    document = _create(workspace, content="x")
    updated_at = Document.objects.get(pk=document.pk).updated_at
    reader = WorkspaceFactory().owner
    assert document_record_view(document=document, user=workspace.owner) is True
    assert document_record_view(document=document, user=workspace.owner) is False
    assert document_record_view(document=document, user=reader) is True
    stored = Document.objects.get(pk=document.pk)
    assert (stored.view_count, stored.updated_at) == (2, updated_at)


@pytest.mark.parametrize(
    "doc_type,expected",
    [("markdown", ""), ("mindmap", {"nodes": [], "edges": []}), ("presentation", {"slides": []})],
)
def test_services_document_create_without_content_starts_empty_for_its_type(doc_type, expected):
    owner = UserFactory()
    workspace = workspace_create(owner=owner, name="Empty docs")
    document = document_create(actor=owner, workspace=workspace, data={"title": "New", "type": doc_type})
    stored = document.content if doc_type == "markdown" else json.loads(document.content)
    assert stored == expected
    assert not document.versions.exists()


def test_services_workspace_document_count_counts_live_documents():
    owner = UserFactory()
    workspace = workspace_create(owner=owner, name="Counted")
    document_create(actor=owner, workspace=workspace, data={"title": "kept"})
    trashed = document_create(actor=owner, workspace=workspace, data={"title": "trashed"})
    document_delete(actor=owner, document=trashed)
    workspace_row, _ = workspace_get(user=owner, workspace_id=workspace.pk)
    assert workspace_row.document_count == 1


def test_services_documents_update_writes_the_vector_its_columns_give(workspace):
    """The update writes the vector from the new values in the same statement; it equals the vector computed
    from the stored columns (search_vector_expression), long content included."""
    from documents.services.search_index import INDEXED_CONTENT_CHARS, search_vector_expression

    owner = workspace.owner
    document = document_create(actor=owner, workspace=workspace, data={"title": "First", "content": "x"})
    long_content = "Zebra crossing.\n" + "word " * (INDEXED_CONTENT_CHARS // 5) + "tailword"
    for data in ({"title": "Quarterly ledger"}, {"content": long_content}, {"tags": ["audit", "finance"]}):
        document_update(actor=owner, document=document, data=data, if_match="*")
        tags = sorted(Document.objects.get(pk=document.pk).tag_rows.values_list("tag", flat=True))
        stored, fresh = (
            Document.objects.filter(pk=document.pk)
            .annotate(fresh=search_vector_expression(tags))
            .values_list("search_vector", "fresh")
            .get()
        )
        assert stored == fresh, data
    assert "tailword" not in str(stored) and "zebra" in str(stored)
