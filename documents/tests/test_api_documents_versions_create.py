"""POST documents/{id}/versions: flag edit; a manual version of the current content, never coalesced."""

import pytest

from documents.models import DocumentVersion
from documents.services.documents import document_delete
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import (
    ACTORS,
    EDITORS,
    assert_problem,
    assert_refused,
    assert_validation,
    doc_url,
    fresh,
    last_seq,
    outcome,
    state,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_versions_create_every_actor(team, document, actor):
    before, seq = state(team.workspace), last_seq(team.workspace)
    response = team.client(actor).post(
        doc_url(document, "/versions"), {"change_description": "Checkpoint"}, format="json"
    )
    expected = outcome(actor, EDITORS, ok=201)
    if expected != 201:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 201
    version = DocumentVersion.objects.get(document=document, version_number=2)
    assert response.json() == {"version_id": str(version.pk), "version_number": 2}
    assert (version.source, version.change_description, version.created_by) == (
        "manual",
        "Checkpoint",
        team.user(actor),
    )
    assert (version.content, version.content_hash, version.title) == (
        document.content,
        document.content_hash,
        document.title,
    )
    assert version.size_bytes == len(document.content.encode()) and version.restored_from is None
    assert version.changes_summary == {"lines_added": 0, "lines_removed": 0, "lines_modified": 0}
    # The document itself is untouched and nothing is synced.
    stored = fresh(document)
    assert (stored.updated_at, stored.content_hash) == (document.updated_at, document.content_hash)
    assert last_seq(team.workspace) == seq


def test_api_documents_versions_create_is_never_coalesced(team, document):
    client = team.client("owner")
    numbers = [client.post(doc_url(document, "/versions"), format="json").json()["version_number"] for _ in range(3)]
    assert numbers == [2, 3, 4]
    assert list(document.versions.order_by("version_number").values_list("source", flat=True)) == [
        "auto",
        "manual",
        "manual",
        "manual",
    ]


def test_api_documents_versions_create_then_an_auto_edit_starts_a_new_version(team, document):
    client = team.client("owner")
    client.post(doc_url(document, "/versions"), {"change_description": "before edit"}, format="json")
    client.patch(doc_url(document), {"content": "edited"}, format="json", HTTP_IF_MATCH="*")
    rows = list(document.versions.order_by("version_number").values_list("version_number", "source", "content"))
    assert rows == [(1, "auto", document.content), (2, "manual", document.content), (3, "auto", "edited")]


def test_api_documents_versions_create_snapshots_metadata_and_tags(team):
    document = DocumentFactory(workspace=team.workspace, tags=["Alpha", "beta"], metadata={"status": "review"})
    team.client("editor").post(doc_url(document, "/versions"), format="json")
    version = document.versions.get(version_number=2)
    assert version.metadata_snapshot == {"metadata": fresh(document).metadata, "tags": ["Alpha", "beta"]}
    assert version.change_description == ""


def test_api_documents_versions_create_of_an_empty_document(team):
    document = DocumentFactory(workspace=team.workspace, empty=True)
    response = team.client("editor").post(doc_url(document, "/versions"), format="json")
    assert response.status_code == 201 and response.json()["version_number"] == 1


@pytest.mark.parametrize("description", ["x" * 1001, 5, None, ["a"]])
def test_api_documents_versions_create_bad_description_is_400(team, document, description):
    before = state(team.workspace)
    response = team.client("owner").post(
        doc_url(document, "/versions"), {"change_description": description}, format="json"
    )
    assert_validation(response, "change_description")
    assert state(team.workspace) == before


def test_api_documents_versions_create_description_of_1000_chars(team, document):
    response = team.client("owner").post(
        doc_url(document, "/versions"), {"change_description": "d" * 1000}, format="json"
    )
    assert response.status_code == 201


def test_api_documents_versions_create_on_a_deleted_document_is_404(team, document):
    document_delete(actor=team.user("owner"), document=document)
    before = state(team.workspace)
    assert_problem(team.client("owner").post(doc_url(document, "/versions"), format="json"), 404, "not-found")
    assert state(team.workspace) == before
