"""POST / DELETE documents/{id}/star: any reader; personal, idempotent, not synced, `updated_at` untouched."""

import pytest

from documents.models import DocumentStar
from documents.services.documents import document_delete
from documents.tests.helpers import (
    ACTORS,
    READERS,
    assert_problem,
    assert_refused,
    doc_url,
    fresh,
    last_seq,
    outcome,
    state,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_star_every_actor(team, document, actor):
    before, seq = state(team.workspace), last_seq(team.workspace)
    client = team.client(actor)
    response = client.post(doc_url(document, "/star"))
    expected = outcome(actor, READERS)
    if expected != 200:
        assert_refused(response, expected)
        assert_refused(client.delete(doc_url(document, "/star")), expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 200 and response.json() == {"is_starred": True}
    assert list(DocumentStar.objects.values_list("user", "document")) == [(team.user(actor).pk, document.pk)]
    assert client.post(doc_url(document, "/star")).json() == {"is_starred": True}  # idempotent
    assert DocumentStar.objects.count() == 1
    assert client.get(doc_url(document)).json()["is_starred"] is True
    response = client.delete(doc_url(document, "/star"))
    assert response.status_code == 200 and response.json() == {"is_starred": False}
    assert client.delete(doc_url(document, "/star")).json() == {"is_starred": False}
    assert not DocumentStar.objects.exists()
    assert fresh(document).updated_at == document.updated_at and last_seq(team.workspace) == seq


def test_api_documents_star_is_personal(team, document):
    team.client("viewer").post(doc_url(document, "/star"))
    assert team.client("viewer").get(doc_url(document)).json()["is_starred"] is True
    assert team.client("owner").get(doc_url(document)).json()["is_starred"] is False
    team.client("owner").delete(doc_url(document, "/star"))
    assert DocumentStar.objects.filter(user=team.user("viewer"), document=document).exists()


def test_api_documents_star_deleted_document_is_404(team, document):
    document_delete(actor=team.user("owner"), document=document)
    assert_problem(team.client("viewer").post(doc_url(document, "/star")), 404, "not-found")
    assert not DocumentStar.objects.exists()


def test_api_documents_star_with_an_unknown_id_is_404(team):
    assert_problem(
        team.client("viewer").post(doc_url("00000000-0000-4000-8000-000000000000", "/star")), 404, "not-found"
    )


def test_api_documents_star_other_methods_are_405(team, document):
    assert_problem(team.client("viewer").get(doc_url(document, "/star")), 405, "method-not-allowed")
