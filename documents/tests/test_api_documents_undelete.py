"""POST documents/{id}/undelete: flag delete; 409 when not deleted; a vanished folder puts it at the root."""

import pytest

from documents.services.documents import document_delete
from documents.tests.factories import DocumentFactory, FolderFactory
from documents.tests.helpers import (
    ACTORS,
    DELETERS,
    assert_clean_sync,
    assert_consecutive,
    assert_document_matches,
    assert_problem,
    assert_refused,
    doc_url,
    fresh,
    last_seq,
    outcome,
    state,
    sync_entries,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def trashed(team, document):
    document_delete(actor=team.user("owner"), document=document)
    return document


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_undelete_every_actor(team, trashed, actor):
    before, seq = state(team.workspace), last_seq(team.workspace)
    response = team.client(actor).post(doc_url(trashed, "/undelete"))
    expected = outcome(actor, DELETERS)
    if expected != 200:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 200
    assert response["ETag"] == f'"{trashed.content_hash}"'
    stored = fresh(trashed)
    assert (stored.deleted, stored.deleted_at, stored.deleted_by) == (False, None, None)
    assert_document_matches(response.json(), stored, user=team.user(actor), role=actor)
    assert stored.content == trashed.content and stored.versions.count() == 1
    entries = sync_entries(team.workspace, after=seq)
    assert_consecutive(entries, seq)
    assert [(e.entity_id, e.operation, e.changed_by) for e in entries] == [(trashed.pk, "update", team.user(actor))]
    assert entries[0].changes["old"]["deleted"] is True and entries[0].changes["new"]["deleted"] is False
    assert set(entries[0].changes["new"]) <= {"deleted", "updated_at"}
    assert_clean_sync(entries[0])
    assert team.client(actor).get(doc_url(trashed)).status_code == 200


def test_api_documents_undelete_a_live_document_is_409(team, document):
    before = state(team.workspace)
    assert_problem(team.client("owner").post(doc_url(document, "/undelete")), 409, "conflict")
    assert state(team.workspace) == before


def test_api_documents_undelete_keeps_a_live_folder(team):
    folder = FolderFactory(workspace=team.workspace)
    document = DocumentFactory(workspace=team.workspace, folder=folder)
    document_delete(actor=team.user("owner"), document=document)
    response = team.client("owner").post(doc_url(document, "/undelete"))
    assert response.json()["folder_id"] == str(folder.pk)


def test_api_documents_undelete_from_a_deleted_folder_lands_at_the_root(team):
    folder = FolderFactory(workspace=team.workspace)
    document = DocumentFactory(workspace=team.workspace, folder=folder)
    client = team.client("owner")
    assert client.delete(f"/api/v1/folders/{folder.pk}?cascade=true").status_code == 204
    assert fresh(document).deleted is True
    seq = last_seq(team.workspace)
    response = client.post(doc_url(document, "/undelete"))
    assert response.status_code == 200 and response.json()["folder_id"] is None
    assert fresh(document).folder_id is None
    entry = sync_entries(team.workspace, after=seq)[0]
    assert entry.changes["old"]["folder_id"] == str(folder.pk) and entry.changes["new"]["folder_id"] is None


def test_api_documents_undelete_unknown_id_is_404(team):
    assert_problem(
        team.client("owner").post(doc_url("00000000-0000-4000-8000-000000000000", "/undelete")), 404, "not-found"
    )


def test_api_documents_undelete_of_another_workspace_is_404(team):
    foreign = DocumentFactory()
    document_delete(actor=foreign.created_by, document=foreign)
    assert_problem(team.client("owner").post(doc_url(foreign, "/undelete")), 404, "not-found")
    assert fresh(foreign).deleted is True
