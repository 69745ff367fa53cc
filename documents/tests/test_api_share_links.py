"""Share links: documents/{id}/share-links and share-links/resolve, then X-Share-Token (SPEC §3.4, decision 13)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from documents.models import Comment, ShareLink
from documents.tests.helpers import ACTORS, assert_problem, assert_validation, doc_url, outcome
from workspaces.models import Workspace
from workspaces.tests.helpers import allow_guests

pytestmark = pytest.mark.django_db
MANAGERS = ("owner", "admin")
RESOLVE = "/api/v1/share-links/resolve"


@pytest.fixture
def guests_allowed(team):
    allow_guests(team.workspace)


def _link(team, document, **body) -> dict:
    response = team.client("owner").post(doc_url(document, "/share-links"), {"mode": "view", **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize("actor", ACTORS)
def test_api_share_links_create_every_actor(team, document, guests_allowed, actor):
    response = team.client(actor).post(doc_url(document, "/share-links"), {"mode": "comment"}, format="json")
    expected = outcome(actor, MANAGERS, ok=201)
    assert response.status_code == expected
    if expected != 201:
        assert not ShareLink.objects.exists()
        return
    body = response.json()
    assert body["mode"] == "comment" and body["token"].startswith("mds_") and body["url"].endswith(body["token"])
    assert body["has_password"] is False and body["uses_count"] == 0 and body["max_uses"] is None
    stored = ShareLink.objects.get()
    assert body["token"] not in str(stored.__dict__)
    listed = team.client(actor).get(doc_url(document, "/share-links")).json()["links"]
    assert [link["id"] for link in listed] == [body["id"]] and "token" not in listed[0]


def test_api_share_links_need_guest_access_and_never_edit(team, document):
    assert_problem(team.client("owner").post(doc_url(document, "/share-links"), {"mode": "view"}, format="json"),
                   403, "permission-denied")
    allow_guests(team.workspace)
    assert_validation(team.client("owner").post(doc_url(document, "/share-links"), {"mode": "edit"},
                                                format="json"), "mode")
    past = (timezone.now() - timedelta(days=1)).isoformat()
    assert_validation(team.client("owner").post(doc_url(document, "/share-links"), {"mode": "view",
                                                                                    "expires_at": past},
                                                format="json"), "expires_at")
    assert not ShareLink.objects.exists()


def test_api_share_links_view_link_opens_that_document_to_anyone(team, document, guests_allowed):
    link = _link(team, document)
    anonymous = APIClient()
    resolved = anonymous.post(RESOLVE, {"token": link["token"]}, format="json")
    assert resolved.status_code == 200
    body = resolved.json()
    assert (body["valid"], body["document_id"], body["mode"]) == (True, str(document.pk), "view")
    assert body["document"]["title"] == document.title and body["document"]["is_starred"] is False
    for token in (link["token"], body["share_token"]):
        read = anonymous.get(doc_url(document), HTTP_X_SHARE_TOKEN=token)
        assert read.status_code == 200 and read.json()["access"]["source"] == "link"
        assert read.json()["access"]["can_comment"] is False
    assert anonymous.get(doc_url(document, "/comments"), HTTP_X_SHARE_TOKEN=link["token"]).status_code == 200
    assert anonymous.patch(doc_url(document), {"title": "x"}, format="json",
                           HTTP_X_SHARE_TOKEN=link["token"]).status_code == 401
    assert anonymous.get(doc_url(document)).status_code == 401
    member_view = team.client("non_member").get(doc_url(document, "/versions"), HTTP_X_SHARE_TOKEN=link["token"])
    assert member_view.status_code == 403  # the link opens the document and its comments, not its history
    assert ShareLink.objects.get().uses_count == 1


def test_api_share_links_comment_mode_lets_signed_in_callers_comment(team, document, guests_allowed):
    link = _link(team, document, mode="comment")
    outsider = team.client("non_member")
    response = outsider.post(doc_url(document, "/comments"), {"content": "Guest note"}, format="json",
                             HTTP_X_SHARE_TOKEN=link["token"])
    assert response.status_code == 201 and Comment.objects.get().author == team.user("non_member")
    anonymous = APIClient().get(doc_url(document), HTTP_X_SHARE_TOKEN=link["token"]).json()
    assert anonymous["access"]["can_comment"] is False
    assert outsider.post(doc_url(document, "/comments"), {"content": "No token"}, format="json").status_code == 404


def test_api_share_links_password_max_uses_expiry_and_revocation(team, document, guests_allowed):
    link = _link(team, document, password="s3cret-pass", max_uses=2)
    anonymous = APIClient()
    assert_problem(anonymous.post(RESOLVE, {"token": link["token"]}, format="json"), 401, "password-required")
    assert_problem(anonymous.post(RESOLVE, {"token": link["token"], "password": "nope"}, format="json"), 401,
                   "invalid-password")
    first = anonymous.post(RESOLVE, {"token": link["token"], "password": "s3cret-pass"}, format="json").json()
    # A protected link's own token opens nothing: only the session token resolving hands out does.
    assert team.client("non_member").get(doc_url(document), HTTP_X_SHARE_TOKEN=link["token"]).status_code == 404
    assert anonymous.get(doc_url(document), HTTP_X_SHARE_TOKEN=first["share_token"]).status_code == 200
    assert anonymous.post(RESOLVE, {"token": link["token"], "password": "s3cret-pass"},
                          format="json").status_code == 200
    assert_problem(anonymous.post(RESOLVE, {"token": link["token"], "password": "s3cret-pass"}, format="json"),
                   404, "not-found")  # used up
    assert ShareLink.objects.get().uses_count == 2
    assert team.client("owner").delete(doc_url(document, f"/share-links/{link['id']}")).status_code == 204
    assert anonymous.get(doc_url(document), HTTP_X_SHARE_TOKEN=first["share_token"]).status_code == 404
    assert_problem(anonymous.post(RESOLVE, {"token": "mds_unknown"}, format="json"), 404, "not-found")
    other = _link(team, document)
    ShareLink.objects.filter(pk=other["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_problem(anonymous.post(RESOLVE, {"token": other["token"]}, format="json"), 404, "not-found")


def test_api_share_links_stop_when_guest_access_is_turned_off(team, document, guests_allowed):
    link = _link(team, document)
    Workspace.objects.filter(pk=team.workspace.pk).update(settings={"allow_guest_access": False})
    assert_problem(APIClient().post(RESOLVE, {"token": link["token"]}, format="json"), 404, "not-found")
    assert team.client("non_member").get(doc_url(document), HTTP_X_SHARE_TOKEN=link["token"]).status_code == 404


def test_api_share_links_token_opens_one_document_only(team, document, guests_allowed):
    from documents.tests.factories import DocumentFactory

    link = _link(team, document)
    other = DocumentFactory(workspace=team.workspace)
    assert team.client("non_member").get(doc_url(other), HTTP_X_SHARE_TOKEN=link["token"]).status_code == 404


def test_api_share_links_password_guessing_is_rate_limited(team, document, guests_allowed, settings):
    settings.RATE_LIMIT_LOGIN = "3/minute"
    link = _link(team, document, password="right-one")
    anonymous = APIClient()
    for _ in range(3):
        assert_problem(anonymous.post(RESOLVE, {"token": link["token"], "password": "wrong"}, format="json"), 401,
                       "invalid-password")
    limited = anonymous.post(RESOLVE, {"token": link["token"], "password": "right-one"}, format="json")
    assert_problem(limited, 429, "rate-limited")
    assert int(limited["Retry-After"]) > 0
    assert ShareLink.objects.get().uses_count == 0  # no use counted while refused
