"""GET documents/{id}/versions: readers; newest first, `source` filter, limit/offset paging."""

import pytest

from documents.models import DocumentVersion
from documents.services.documents import document_delete
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import (
    ACTORS,
    READERS,
    VERSION_SUMMARY_FIELDS,
    allowed,
    assert_problem,
    assert_validation,
    doc_url,
    is_timestamp,
    sha,
    user_summary,
)
from documents.tests.history import build_history

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_versions_list_every_actor(team, actor):
    document = build_history(team)
    response = team.client(actor).get(doc_url(document, "/versions"))
    if not allowed(response, actor, READERS):
        return
    body = response.json()
    assert set(body) == {"versions", "total"} and body["total"] == 5
    assert [v["version_number"] for v in body["versions"]] == [5, 4, 3, 2, 1]
    assert [v["source"] for v in body["versions"]] == ["restore", "auto", "manual", "auto", "auto"]
    for item in body["versions"]:
        stored = DocumentVersion.objects.get(document=document, version_number=item["version_number"])
        assert set(item) == VERSION_SUMMARY_FIELDS
        assert item == {
            "id": str(stored.pk),
            "version_number": stored.version_number,
            "title": stored.title,
            "content_hash": sha(stored.content),
            "source": stored.source,
            "change_description": stored.change_description,
            "changes_summary": stored.changes_summary,
            "created_by": user_summary(stored.created_by),
            "created_at": item["created_at"],
            "size_bytes": len(stored.content.encode("utf-8")),
        }
        assert is_timestamp(item["created_at"])
    assert body["versions"][2]["change_description"] == "Milestone"
    assert body["versions"][3]["changes_summary"] == {"lines_added": 1, "lines_removed": 0, "lines_modified": 0}


@pytest.mark.parametrize("source, numbers", [("auto", [4, 2, 1]), ("manual", [3]), ("restore", [5])])
def test_api_documents_versions_list_filters_by_source(team, source, numbers):
    document = build_history(team)
    body = team.client("viewer").get(doc_url(document, "/versions"), {"source": source}).json()
    assert [v["version_number"] for v in body["versions"]] == numbers and body["total"] == len(numbers)


def test_api_documents_versions_list_pages_with_limit_and_offset(team):
    document = build_history(team)
    client = team.client("viewer")
    body = client.get(doc_url(document, "/versions"), {"limit": 2, "offset": 1}).json()
    assert [v["version_number"] for v in body["versions"]] == [4, 3] and body["total"] == 5
    body = client.get(doc_url(document, "/versions"), {"limit": 2, "offset": 4}).json()
    assert [v["version_number"] for v in body["versions"]] == [1]
    body = client.get(doc_url(document, "/versions"), {"offset": 9}).json()
    assert body["versions"] == [] and body["total"] == 5
    body = client.get(doc_url(document, "/versions"), {"source": "auto", "limit": 1, "offset": 1}).json()
    assert [v["version_number"] for v in body["versions"]] == [2] and body["total"] == 3


def test_api_documents_versions_list_default_limit_is_20(team):
    document = DocumentFactory(workspace=team.workspace)
    DocumentVersion.objects.bulk_create(
        DocumentVersion(
            document=document,
            version_number=n,
            content=str(n),
            content_hash=sha(str(n)),
            created_by=team.user("owner"),
            source="manual",
        )
        for n in range(2, 26)
    )
    body = team.client("viewer").get(doc_url(document, "/versions")).json()
    assert len(body["versions"]) == 20 and body["total"] == 25
    assert body["versions"][0]["version_number"] == 25 and body["versions"][-1]["version_number"] == 6
    assert len(team.client("viewer").get(doc_url(document, "/versions"), {"limit": 100}).json()["versions"]) == 25


def test_api_documents_versions_list_empty_document_has_none(team):
    document = DocumentFactory(workspace=team.workspace, empty=True)
    assert team.client("viewer").get(doc_url(document, "/versions")).json() == {"versions": [], "total": 0}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"offset": -1},
        {"offset": "y"},
        {"source": "robot"},
        {"source": "AUTO"},
    ],
)
def test_api_documents_versions_list_bad_params_are_400(team, document, params):
    assert_validation(team.client("viewer").get(doc_url(document, "/versions"), params), *params)


def test_api_documents_versions_list_of_a_deleted_document_is_404(team, document):
    document_delete(actor=team.user("owner"), document=document)
    assert_problem(team.client("owner").get(doc_url(document, "/versions")), 404, "not-found")


def test_api_documents_versions_list_only_this_documents_versions(team, document):
    DocumentFactory(workspace=team.workspace, content="other")
    body = team.client("viewer").get(doc_url(document, "/versions")).json()
    assert body["total"] == 1 and body["versions"][0]["content_hash"] == document.content_hash
