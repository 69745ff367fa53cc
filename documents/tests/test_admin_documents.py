"""The admin pages and actions of documents and their read-only satellites."""

import pytest

from accounts.tests.factories import UserFactory
from documents.models import Document
from documents.services.documents import document_create, document_delete
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db

PAGES = ["document", "folder", "documentversion", "mindmap", "documenttag", "documentstar"]


@pytest.fixture
def documents():
    owner = UserFactory()
    workspace = workspace_create(owner=owner, name="W")
    live = document_create(actor=owner, workspace=workspace, data={"title": "Alive", "content": "text"})
    trashed = document_create(actor=owner, workspace=workspace, data={"title": "Trashed"})
    document_delete(actor=owner, document=trashed)
    return live, trashed


def _action(client, action, ids):
    return client.post("/admin/documents/document/", {"action": action, "_selected_action": [str(i) for i in ids]})


@pytest.mark.parametrize("page", PAGES)
def test_admin_documents_changelists_open_for_support(support_client, documents, page):
    assert support_client.get(f"/admin/documents/{page}/").status_code == 200
    assert support_client.get("/admin/sync/synclog/").status_code == 200


def test_admin_documents_search_and_filters(support_client, documents):
    page = support_client.get("/admin/documents/document/", {"q": "Alive"}).content.decode()
    assert "Alive" in page and "Trashed" not in page
    page = support_client.get("/admin/documents/document/", {"deleted__exact": "1"}).content.decode()
    assert "Trashed" in page and "Alive" not in page


def test_admin_documents_undelete_and_purge_act_on_trash_only(support_client, documents):
    live, trashed = documents
    _action(support_client, "purge_now", [live.pk])
    assert Document.objects.filter(pk=live.pk).exists()
    _action(support_client, "undelete", [trashed.pk])
    assert not Document.objects.get(pk=trashed.pk).deleted
    document_delete(actor=live.created_by, document=trashed)
    _action(support_client, "purge_now", [trashed.pk])
    assert not Document.objects.filter(pk=trashed.pk).exists()


def test_admin_documents_support_cannot_edit_content(support_client, documents):
    live, _ = documents
    response = support_client.post(f"/admin/documents/document/{live.pk}/change/", {"title": "Changed"})
    assert response.status_code == 403  # the admin refuses a change without the change permission
    live.refresh_from_db()
    assert live.title == "Alive"
