"""GET documents/shared-with-me and search over granted documents (SPEC §3.3)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from documents.models import DocumentShare
from documents.services.shares import share_create, share_revoke
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import assert_validation, client_for
from workspaces.tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/documents/shared-with-me"


def _granted(guest, count: int, role="viewer"):
    documents = []
    for index in range(count):
        workspace = WorkspaceFactory()
        document = DocumentFactory(workspace=workspace, title=f"Shared {index}", content=f"# Shared {index}\n\nzebra")
        share_create(actor=workspace.owner, document=document, role=role, user_id=guest.pk)
        documents.append(document)
    return documents


def test_api_shared_with_me_lists_grants_in_force_newest_first_with_roles():
    guest = UserFactory()
    documents = _granted(guest, 4)
    DocumentShare.objects.filter(document=documents[0]).update(expires_at=timezone.now() - timedelta(minutes=1))
    share_revoke(share=DocumentShare.objects.get(document=documents[1]))
    documents[3].deleted = True
    documents[3].save(update_fields=["deleted"])
    extra = _granted(guest, 1, role="commenter")[0]
    body = client_for(guest).get(URL).json()
    assert [(d["id"], d["role"]) for d in body["documents"]] == [(str(extra.pk), "commenter"),
                                                                 (str(documents[2].pk), "viewer")]
    assert body["has_more"] is False and body["cursor"] is None
    assert "content" not in body["documents"][0] and body["documents"][0]["title"] == "Shared 0"


def test_api_shared_with_me_pages_with_a_cursor():
    guest = UserFactory()
    documents = _granted(guest, 5)
    client = client_for(guest)
    first = client.get(URL, {"limit": 2}).json()
    assert first["has_more"] is True
    second = client.get(URL, {"limit": 2, "cursor": first["cursor"]}).json()
    third = client.get(URL, {"limit": 2, "cursor": second["cursor"]}).json()
    seen = [d["id"] for page in (first, second, third) for d in page["documents"]]
    assert seen == [str(d.pk) for d in reversed(documents)] and third["has_more"] is False
    assert_validation(client.get(URL, {"cursor": "tampered"}), "cursor")
    assert_validation(client.get(URL, {"limit": 0}), "limit")


def test_api_shared_with_me_queries_do_not_grow_with_the_page(django_assert_max_num_queries):
    guest = UserFactory()
    _granted(guest, 3)
    client = client_for(guest)
    client.get(URL)
    with django_assert_max_num_queries(8) as few:
        assert len(client.get(URL).json()["documents"]) == 3
    _granted(guest, 20)
    with django_assert_max_num_queries(len(few)):
        assert len(client.get(URL).json()["documents"]) == 23


def test_api_shared_with_me_anonymous_is_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_api_search_includes_granted_documents_only_while_in_force(settings):
    guest = UserFactory()
    granted, = _granted(guest, 1)
    DocumentFactory(title="Not shared", content="zebra everywhere")
    client = client_for(guest)
    assert [r["document"]["id"] for r in client.get("/api/v1/search", {"q": "zebra"}).json()["results"]] == [
        str(granted.pk)
    ]
    share_revoke(share=DocumentShare.objects.get(document=granted))
    assert client.get("/api/v1/search", {"q": "zebra"}).json() == {"results": [], "total": 0}
