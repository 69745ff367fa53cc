"""GET documents/{id}/versions/{n}: readers; the Version with content, metadata snapshot and `restored_from`."""

import pytest

from documents.models import DocumentVersion
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import (
    ACTORS,
    READERS,
    VERSION_FIELDS,
    allowed,
    assert_problem,
    doc_url,
    is_timestamp,
    sha,
    user_summary,
)
from documents.tests.history import V2, build_history

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_versions_retrieve_every_actor(team, actor):
    document = build_history(team)
    response = team.client(actor).get(doc_url(document, "/versions/2"))
    if not allowed(response, actor, READERS):
        return
    body = response.json()
    stored = DocumentVersion.objects.get(document=document, version_number=2)
    assert set(body) == VERSION_FIELDS
    assert body == {
        "id": str(stored.pk),
        "version_number": 2,
        "title": "History",
        "content_hash": sha(V2),
        "source": "auto",
        "change_description": "",
        "changes_summary": {"lines_added": 1, "lines_removed": 0, "lines_modified": 0},
        "created_by": user_summary(team.user("editor")),
        "created_at": body["created_at"],
        "size_bytes": len(V2),
        "content": V2,
        "metadata_snapshot": {"metadata": stored.metadata_snapshot["metadata"], "tags": ["t"]},
        "restored_from": None,
    }
    assert is_timestamp(body["created_at"])


def test_api_documents_versions_retrieve_a_restore_names_its_origin(team):
    document = build_history(team)
    body = team.client("viewer").get(doc_url(document, "/versions/5")).json()
    assert (body["source"], body["restored_from"], body["content"], body["title"]) == ("restore", 2, V2, "History")


def test_api_documents_versions_retrieve_a_mindmap_version_holds_its_json(team):
    mindmap = DocumentFactory(workspace=team.workspace, mindmap=True)
    body = team.client("viewer").get(doc_url(mindmap, "/versions/1")).json()
    assert body["content"] == mindmap.content


@pytest.mark.parametrize("number", ["6", "0", "99999999999", "abc", "-1", "1.0"])
def test_api_documents_versions_retrieve_unknown_number_is_404(team, number):
    document = build_history(team)
    assert_problem(team.client("viewer").get(doc_url(document, f"/versions/{number}")), 404, "not-found")


# Characters Python calls digits: superscript two ("²", int() refuses it), Arabic-Indic one and fullwidth one
# (int() reads both as 1), a Devanagari two; a malformed number in a path is an unknown version.
UNICODE_DIGITS = ["\u00b2", "\u0661", "\uff11", "\u0968", "1\u00b2"]


@pytest.mark.parametrize("number", UNICODE_DIGITS)
def test_api_documents_versions_retrieve_unicode_digits_are_404(team, number):
    document = build_history(team)
    assert_problem(team.client("viewer").get(doc_url(document, f"/versions/{number}")), 404, "not-found")


def test_api_documents_versions_retrieve_another_documents_number_space(team):
    document = build_history(team)
    other = DocumentFactory(workspace=team.workspace, content="other")
    assert_problem(team.client("viewer").get(doc_url(other, "/versions/2")), 404, "not-found")
    assert team.client("viewer").get(doc_url(document, "/versions/2")).status_code == 200
