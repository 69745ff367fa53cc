"""DELETE documents/{id}: flag delete; a tombstone with a sync `delete`, then 404 everywhere but the trash."""

import pytest

from documents.tests.factories import DocumentFactory
from documents.tests.helpers import (
    ACTORS,
    DELETERS,
    assert_clean_sync,
    assert_consecutive,
    assert_problem,
    assert_refused,
    doc_url,
    docs_url,
    fresh,
    last_seq,
    outcome,
    state,
    sync_entries,
)
from workspaces.models import WorkspaceMember

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_delete_every_actor(team, document, actor):
    before, seq = state(team.workspace), last_seq(team.workspace)
    old = fresh(document)
    response = team.client(actor).delete(doc_url(document))
    expected = outcome(actor, DELETERS, ok=204)
    if expected != 204:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 204 and response.content == b""
    stored = fresh(document)
    assert stored.deleted is True and stored.deleted_by == team.user(actor) and stored.deleted_at is not None
    assert (stored.title, stored.content, stored.updated_at) == (old.title, old.content, old.updated_at)
    assert stored.versions.count() == 1  # history stays for undelete
    entries = sync_entries(team.workspace, after=seq)
    assert_consecutive(entries, seq)
    assert [(e.entity_type, e.entity_id, e.operation, e.changed_by) for e in entries] == [
        ("document", document.pk, "delete", team.user(actor))
    ]
    assert entries[0].changes == {"old": {"deleted": False}, "new": {"deleted": True}}
    assert entries[0].data["deleted"] is True and entries[0].content_hash == old.content_hash
    assert_clean_sync(entries[0])


def test_api_documents_delete_then_the_document_is_404_except_in_the_trash(team, document):
    owner = team.client("owner")
    assert owner.delete(doc_url(document)).status_code == 204
    assert_problem(owner.get(doc_url(document)), 404, "not-found")
    assert_problem(owner.delete(doc_url(document)), 404, "not-found")
    assert_problem(owner.patch(doc_url(document), {"title": "x"}, format="json"), 404, "not-found")
    assert_problem(owner.get(doc_url(document, "/versions")), 404, "not-found")
    assert owner.get(docs_url(team.workspace)).json()["documents"] == []
    trash = owner.get(docs_url(team.workspace), {"deleted": "true"}).json()
    assert [d["id"] for d in trash["documents"]] == [str(document.pk)]


def test_api_documents_delete_editor_with_delete_override_may(team, document):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("editor")).update(
        permissions={"can_delete_documents": True}
    )
    assert team.client("editor").delete(doc_url(document)).status_code == 204
    assert fresh(document).deleted is True


def test_api_documents_delete_admin_with_delete_revoked_may_not(team, document):
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("admin")).update(
        permissions={"can_delete_documents": False}
    )
    before = state(team.workspace)
    assert_refused(team.client("admin").delete(doc_url(document)), 403)
    assert state(team.workspace) == before


def test_api_documents_delete_leaves_other_documents_alone(team, document):
    other = DocumentFactory(workspace=team.workspace)
    team.client("admin").delete(doc_url(document))
    assert fresh(other).deleted is False


def test_api_documents_delete_unknown_or_malformed_id_is_404(team):
    client = team.client("owner")
    assert_problem(client.delete(doc_url("00000000-0000-4000-8000-000000000000")), 404, "not-found")
    assert_problem(client.delete(doc_url("zzz")), 404, "not-found")
