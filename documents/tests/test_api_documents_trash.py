"""GET workspaces/{wid}/documents?deleted=true: the trash needs the delete flag (403 otherwise)."""

import pytest

from documents.services.documents import document_delete
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import (
    ACTORS,
    DELETERS,
    assert_refused,
    assert_summary_matches,
    docs_url,
    outcome,
)
from workspaces.models import WorkspaceMember

pytestmark = pytest.mark.django_db


@pytest.fixture
def trash(team):
    live = DocumentFactory(workspace=team.workspace, title="Live")
    gone = [DocumentFactory(workspace=team.workspace, title=f"Gone {i}") for i in range(2)]
    for document in gone:
        document_delete(actor=team.user("admin"), document=document)
    foreign = DocumentFactory(title="Foreign gone")
    document_delete(actor=foreign.created_by, document=foreign)
    return live, gone


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_trash_every_actor(team, trash, actor):
    live, gone = trash
    response = team.client(actor).get(docs_url(team.workspace), {"deleted": "true"})
    expected = outcome(actor, DELETERS)
    if expected != 200:
        assert_refused(response, expected)
        return
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"documents", "cursor", "has_more", "total"}
    assert (body["total"], body["has_more"], body["cursor"]) == (2, False, None)
    assert {d["id"] for d in body["documents"]} == {str(d.pk) for d in gone}
    for item in body["documents"]:
        document = next(d for d in gone if str(d.pk) == item["id"])
        assert_summary_matches(item, document, user=team.user(actor))
        assert item["deleted"] is True and item["deleted_at"] is not None


def test_api_documents_trash_false_lists_the_live_documents(team, trash):
    live, _ = trash
    body = team.client("viewer").get(docs_url(team.workspace), {"deleted": "false"}).json()
    assert [d["id"] for d in body["documents"]] == [str(live.pk)] and body["total"] == 1


def test_api_documents_trash_editor_with_delete_override_sees_it(team, trash):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("editor")).update(
        permissions={"can_delete_documents": True}
    )
    assert team.client("editor").get(docs_url(team.workspace), {"deleted": "true"}).json()["total"] == 2


def test_api_documents_trash_filters_and_pages_like_the_list(team, trash):
    _, gone = trash
    client = team.client("owner")
    first = client.get(
        docs_url(team.workspace), {"deleted": "true", "limit": 1, "sort": "title", "order": "asc"}
    ).json()
    assert [d["title"] for d in first["documents"]] == ["Gone 0"] and first["has_more"] is True
    second = client.get(
        docs_url(team.workspace),
        {"deleted": "true", "limit": 1, "sort": "title", "order": "asc", "cursor": first["cursor"]},
    ).json()
    assert [d["title"] for d in second["documents"]] == ["Gone 1"] and second["has_more"] is False
