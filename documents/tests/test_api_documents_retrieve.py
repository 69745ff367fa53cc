"""GET documents/{id}: readers; strong ETag, If-None-Match → 304, one view per user per 10 minutes."""

import uuid
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from documents.models import Document
from documents.services.documents import document_delete
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import (
    ACTORS,
    READERS,
    assert_document_matches,
    assert_problem,
    assert_refused,
    client_for,
    doc_url,
    fresh,
    last_seq,
    outcome,
    state,
)
from workspaces.models import WorkspaceMember
from workspaces.services.operators import membership_deactivate, workspace_soft_delete

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("actor", ACTORS)
def test_api_documents_retrieve_every_actor(team, document, actor):
    before = state(team.workspace)
    response = team.client(actor).get(doc_url(document))
    expected = outcome(actor, READERS)
    if expected != 200:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.status_code == 200
    assert response["ETag"] == f'"{document.content_hash}"'
    body = response.json()
    state_b64, version = body.pop("yjs_state_b64"), body.pop("yjs_version")
    assert_document_matches(body, document, user=team.user(actor), role=actor)
    assert body["content"] == "# Plan\n\nFirst line.\n" and body["view_count"] == 1
    served = team.client(actor).get(f"/api/v1/documents/{document.pk}/yjs-state").json()
    assert state_b64 == served["state_b64"] and version == served["last_seq"] == 0


def test_api_documents_retrieve_mindmap_body(team):
    mindmap = DocumentFactory(workspace=team.workspace, mindmap=True, tags=["map"])
    response = team.client("viewer").get(doc_url(mindmap))
    assert response.status_code == 200
    assert_document_matches(response.json(), mindmap, user=team.user("viewer"), role="viewer")
    assert response.json()["type"] == "mindmap" and response.json()["tags"] == ["map"]
    assert "yjs_state_b64" not in response.json() and "yjs_version" not in response.json()


def test_api_documents_retrieve_shows_the_callers_star_and_effective_flags(team, document):
    team.client("viewer").post(doc_url(document, "/star"))
    WorkspaceMember.objects.filter(workspace=team.workspace, user=team.user("editor")).update(
        permissions={"can_edit_documents": False, "can_delete_documents": True}
    )
    viewer = team.client("viewer").get(doc_url(document)).json()
    editor = team.client("editor").get(doc_url(document)).json()
    assert viewer["is_starred"] is True and editor["is_starred"] is False
    assert editor["access"] == {
        "role": "editor",
        "source": "member",
        "can_edit": False,
        "can_comment": True,
        "can_delete": True,
    }


@pytest.mark.parametrize(
    "header",
    ['"{h}"', 'W/"{h}"', "{h}", '"0000", "{h}"', '"0000",W/"{h}"', "*"],
)
def test_api_documents_retrieve_if_none_match_is_304_without_a_view(team, document, header):
    updated_at = fresh(document).updated_at
    response = team.client("viewer").get(doc_url(document), HTTP_IF_NONE_MATCH=header.format(h=document.content_hash))
    assert response.status_code == 304
    assert response["ETag"] == f'"{document.content_hash}"'
    assert response.content == b""
    stored = fresh(document)
    assert (stored.view_count, stored.last_viewed_at, stored.updated_at) == (0, None, updated_at)


@pytest.mark.parametrize("header", ['"0000"', 'W/"abc"', "", '"{h}x"'])
def test_api_documents_retrieve_stale_if_none_match_is_200(team, document, header):
    response = team.client("viewer").get(doc_url(document), HTTP_IF_NONE_MATCH=header.format(h=document.content_hash))
    assert response.status_code == 200 and response.json()["id"] == str(document.pk)
    assert fresh(document).view_count == 1


def test_api_documents_retrieve_304_after_a_view_still_counts_nothing(team, document):
    client = team.client("editor")
    tag = client.get(doc_url(document))["ETag"]
    first_viewed = fresh(document).last_viewed_at
    assert client.get(doc_url(document), HTTP_IF_NONE_MATCH=tag).status_code == 304
    assert (fresh(document).view_count, fresh(document).last_viewed_at) == (1, first_viewed)


def test_api_documents_retrieve_counts_one_view_per_user_without_touching_updated_at_or_sync(team, document):
    before = fresh(document)
    seq = last_seq(team.workspace)
    viewer = team.client("viewer")
    first = viewer.get(doc_url(document)).json()
    second = viewer.get(doc_url(document)).json()
    assert (first["view_count"], second["view_count"]) == (1, 1)
    assert team.client("admin").get(doc_url(document)).json()["view_count"] == 2
    stored = fresh(document)
    assert stored.view_count == 2 and stored.last_viewed_at is not None
    assert stored.updated_at == before.updated_at and stored.updated_by_id == before.updated_by_id
    assert first["updated_at"] == second["updated_at"]
    assert last_seq(team.workspace) == seq  # views are not synced


def test_api_documents_retrieve_counts_again_after_ten_minutes(team, document, settings):
    # A process-local cache follows the travelling clock; Redis keys expire on the server's own clock.
    settings.CACHES = {"default": {"BACKEND": "mdcreator.cache.LocMemCache", "LOCATION": "views"}}
    start = timezone.now()
    client = team.client("viewer")
    with time_machine.travel(start, tick=False):
        assert client.get(doc_url(document)).json()["view_count"] == 1
    with time_machine.travel(start + timedelta(minutes=9, seconds=59), tick=False):
        assert client.get(doc_url(document)).json()["view_count"] == 1
    later = start + timedelta(minutes=10, seconds=1)
    with time_machine.travel(later, tick=False):
        body = client.get(doc_url(document)).json()
    assert body["view_count"] == 2
    stored = fresh(document)
    assert stored.view_count == 2 and stored.last_viewed_at == later
    assert stored.updated_at < start


def test_api_documents_retrieve_deleted_document_is_404_for_everyone(team, document):
    document_delete(actor=team.user("owner"), document=document)
    for actor in ("owner", "admin", "viewer"):
        assert_problem(team.client(actor).get(doc_url(document)), 404, "not-found")
    assert fresh(document).view_count == 0


@pytest.mark.parametrize("document_id", [str(uuid.uuid4()), "not-a-uuid", "123"])
def test_api_documents_retrieve_unknown_or_malformed_id_is_404(team, document_id):
    assert_problem(team.client("owner").get(doc_url(document_id)), 404, "not-found")


def test_api_documents_retrieve_after_removal_from_the_workspace_is_404(team, document):
    client = team.client("editor")
    assert client.get(doc_url(document)).status_code == 200
    membership_deactivate(member=team.member("editor"), actor=team.user("owner"))
    assert_problem(client.get(doc_url(document)), 404, "not-found")


def test_api_documents_retrieve_in_a_deleted_workspace_is_404(team, document):
    workspace_soft_delete(workspace=team.workspace, actor=team.user("owner"))
    assert_problem(team.client("owner").get(doc_url(document)), 404, "not-found")


def test_api_documents_retrieve_of_another_workspace_is_404_even_for_its_owner_elsewhere(team):
    foreign = DocumentFactory()
    assert_problem(team.client("owner").get(doc_url(foreign)), 404, "not-found")
    assert client_for(foreign.created_by).get(doc_url(foreign)).status_code == 200
    assert Document.objects.get(pk=foreign.pk).view_count == 1
