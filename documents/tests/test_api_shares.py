"""documents/{id}/shares: grants on django-guardian, grantees' reach, document invitations (SPEC §3.4, §2.3)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from documents.models import DocumentShare, DocumentUserObjectPermission
from documents.tests.factories import DocumentFactory, FolderFactory
from documents.tests.helpers import (
    ACTORS,
    assert_problem,
    assert_refused,
    assert_validation,
    client_for,
    doc_url,
    docs_url,
    folders_url,
    outcome,
)
from workspaces.models import Invitation
from workspaces.tests.helpers import allow_guests, ws_url

pytestmark = pytest.mark.django_db

MANAGERS = ("owner", "admin")  # flag invite


def _perms(user, document) -> set[str]:
    return set(
        DocumentUserObjectPermission.objects.filter(user=user, content_object=document).values_list(
            "permission__codename", flat=True
        )
    )


def _grant(team, document, user, role="viewer", **extra):
    response = team.client("owner").post(
        doc_url(document, "/shares"), {"user_id": str(user.pk), "role": role, **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


@pytest.mark.parametrize("actor", ACTORS)
def test_api_shares_create_every_actor(team, document, actor, django_capture_on_commit_callbacks):
    guest = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = team.client(actor).post(
            doc_url(document, "/shares"), {"email": guest.email.upper(), "role": "commenter"}, format="json"
        )
    expected = outcome(actor, MANAGERS, ok=201)
    if expected != 201:
        assert response.status_code == expected
        assert not DocumentShare.objects.exists() and _perms(guest, document) == set()
        return
    body = response.json()
    assert body["role"] == "commenter" and body["status"] == "active" and body["expires_at"] is None
    assert body["user"]["id"] == str(guest.pk) and body["user"]["email"] == guest.email
    assert body["granted_by"]["id"] == str(team.user(actor).pk) and body["document_id"] == str(document.pk)
    assert _perms(guest, document) == {"view_document", "comment_document"}
    assert mail.outbox == []  # an existing account gets the grant, no invitation


def test_api_shares_members_and_current_grantees_are_refused(team, document):
    owner = team.client("owner")
    assert_problem(owner.post(doc_url(document, "/shares"), {"user_id": str(team.user("viewer").pk),
                                                             "role": "editor"}, format="json"), 409, "already-member")
    guest = UserFactory()
    _grant(team, document, guest, "viewer")
    again = owner.post(doc_url(document, "/shares"), {"user_id": str(guest.pk), "role": "editor"}, format="json")
    assert_problem(again, 409, "already-has-access")
    assert DocumentShare.objects.get(user=guest).role == "viewer" and _perms(guest, document) == {"view_document"}


@pytest.mark.parametrize(
    "body,field",
    [
        ({"role": "viewer"}, "email"),
        ({"email": "a@example.com", "user_id": "00000000-0000-4000-8000-000000000001", "role": "viewer"}, "email"),
        ({"email": "a@example.com", "role": "owner"}, "role"),
        ({"email": "a@example.com", "role": "edit"}, "role"),
        ({"email": "not-an-email", "role": "viewer"}, "email"),
        ({"user_id": "00000000-0000-4000-8000-000000000001", "role": "viewer"}, "user_id"),
        ({"email": "a@example.com", "role": "viewer", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"email": "a@example.com", "role": "viewer", "message": "x" * 1001}, "message"),
    ],
)
def test_api_shares_create_bad_input_is_400_and_writes_nothing(team, document, body, field):
    response = team.client("owner").post(doc_url(document, "/shares"), body, format="json")
    assert_validation(response, field)
    assert not DocumentShare.objects.exists() and not Invitation.objects.filter(document=document).exists()


def test_api_shares_grantee_reaches_that_document_only(team, document):
    guest = UserFactory()
    other = DocumentFactory(workspace=team.workspace, title="Other")
    folder = FolderFactory(workspace=team.workspace)
    _grant(team, document, guest, "viewer")
    client = client_for(guest)
    body = client.get(doc_url(document)).json()
    assert body["access"] == {"role": "viewer", "source": "grant", "can_edit": False, "can_comment": False,
                              "can_delete": False}
    assert_problem(client.patch(doc_url(document), {"title": "x"}, format="json"), 403, "permission-denied")
    assert_problem(client.get(doc_url(document, "/shares")), 403, "permission-denied")
    assert_problem(client.delete(doc_url(document)), 403, "permission-denied")
    for url in (doc_url(other), ws_url(team.workspace), ws_url(team.workspace, "/members"), docs_url(team.workspace),
                folders_url(team.workspace)):
        assert_problem(client.get(url), 404, "not-found")
    assert_problem(client.patch(f"/api/v1/folders/{folder.pk}", {"name": "x"}, format="json"), 404, "not-found")
    assert client.get(doc_url(document, "/versions")).status_code == 200
    assert client.post(doc_url(document, "/star")).json() == {"is_starred": True}


def test_api_shares_editor_grantee_writes_and_an_expired_grant_gives_nothing(team, document):
    guest = UserFactory()
    share = _grant(team, document, guest, "editor")
    client = client_for(guest)
    etag = client.get(doc_url(document))["ETag"]
    response = client.patch(doc_url(document), {"content": "# Guest\n"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200 and response.json()["access"]["can_edit"] is True
    DocumentShare.objects.filter(pk=share["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_problem(client.get(doc_url(document)), 404, "not-found")
    assert _perms(guest, document) == {"view_document", "comment_document", "change_document"}


def test_api_shares_update_and_revoke_follow_into_guardian(team, document):
    guest = UserFactory()
    share = _grant(team, document, guest, "viewer")
    url = doc_url(document, f"/shares/{share['id']}")
    owner = team.client("owner")
    later = (timezone.now() + timedelta(days=3)).isoformat()
    response = owner.patch(url, {"role": "editor", "expires_at": later}, format="json")
    assert response.status_code == 200 and response.json()["role"] == "editor"
    assert response.json()["expires_at"] is not None
    assert _perms(guest, document) == {"view_document", "comment_document", "change_document"}
    assert_problem(team.client("editor").delete(url), 403, "permission-denied")
    assert owner.delete(url).status_code == 204
    assert _perms(guest, document) == set()
    assert DocumentShare.objects.get(pk=share["id"]).status == "revoked"
    assert_problem(client_for(guest).get(doc_url(document)), 404, "not-found")
    assert_problem(owner.patch(url, {"role": "viewer"}, format="json"), 404, "not-found")
    assert _grant(team, document, guest, "commenter")["id"] == share["id"]  # the row comes back to life


def test_api_shares_list_shows_grants_and_pending_invitations(team, document, django_capture_on_commit_callbacks):
    guest = UserFactory(display_name="Guest")
    _grant(team, document, guest, "viewer")
    with django_capture_on_commit_callbacks(execute=True):
        invited = team.client("admin").post(
            doc_url(document, "/shares"), {"email": "newcomer@example.com", "role": "editor", "message": "Hi"},
            format="json",
        )
    assert invited.status_code == 201
    assert invited.json()["email"] == "newcomer@example.com" and invited.json()["document_id"] == str(document.pk)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["newcomer@example.com"]
    assert document.title in mail.outbox[0].subject and "/invite/" in mail.outbox[0].body
    body = team.client("owner").get(doc_url(document, "/shares")).json()
    assert [s["user"]["id"] for s in body["shares"]] == [str(guest.pk)]
    assert [i["email"] for i in body["pending_invitations"]] == ["newcomer@example.com"]
    again = team.client("owner").post(doc_url(document, "/shares"), {"email": "newcomer@example.com",
                                                                     "role": "viewer"}, format="json")
    assert_problem(again, 409, "invitation-pending")
    assert_problem(team.client("viewer").get(doc_url(document, "/shares")), 403, "permission-denied")
    assert_problem(team.client("non_member").get(doc_url(document, "/shares")), 404, "not-found")


def test_api_shares_document_invitation_becomes_a_grant_on_accept(team, document, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        team.client("owner").post(doc_url(document, "/shares"), {"email": "late@example.com", "role": "commenter"},
                                  format="json")
    token = mail.outbox[0].body.split("/invite/")[1].split()[0]
    newcomer = UserFactory(email="late@example.com", email_verified=True)
    client = client_for(newcomer)
    seen = client.get(f"/api/v1/invitations/{token}").json()
    assert seen["document"] == {"id": str(document.pk), "title": document.title} and seen["role"] == "commenter"
    accepted = client.post(f"/api/v1/invitations/{token}/accept")
    assert accepted.status_code == 200
    assert accepted.json() == {"workspace_id": str(team.workspace.pk), "document_id": str(document.pk),
                               "role": "commenter", "success": True,
                               "message": "You now have access to the document."}
    assert client.post(f"/api/v1/invitations/{token}/accept").json()["role"] == "commenter"  # idempotent
    assert client.get(doc_url(document)).json()["access"]["source"] == "grant"
    assert_problem(client.get(ws_url(team.workspace)), 404, "not-found")  # a grant, not a membership
    assert _perms(newcomer, document) == {"view_document", "comment_document"}


@pytest.mark.parametrize("ended", ["revoked", "expired"])
def test_api_shares_accepted_invitation_does_not_grant_again(team, document, ended, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        team.client("owner").post(doc_url(document, "/shares"), {"email": "once@example.com", "role": "editor"},
                                  format="json")
    token = mail.outbox[0].body.split("/invite/")[1].split()[0]
    client = client_for(UserFactory(email="once@example.com", email_verified=True))
    assert client.post(f"/api/v1/invitations/{token}/accept").status_code == 200
    share = DocumentShare.objects.get(document=document)
    if ended == "revoked":
        assert team.client("owner").delete(doc_url(document, f"/shares/{share.pk}")).status_code == 204
    else:
        DocumentShare.objects.filter(pk=share.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert_problem(client.post(f"/api/v1/invitations/{token}/accept"), 410, "gone")
    share.refresh_from_db()
    assert (share.status, share.role) == ("revoked" if ended == "revoked" else "active", "editor")
    assert_problem(client.get(doc_url(document)), 404, "not-found")


def test_api_shares_and_links_lists_keep_their_queries_flat(team, document, django_assert_max_num_queries):
    from documents.services.links import link_create

    allow_guests(document.workspace)
    owner = team.client("owner")
    for _ in range(2):
        _grant(team, document, UserFactory())
        link_create(actor=team.user("owner"), document=document, mode="view")
    owner.get(doc_url(document, "/shares"))
    with django_assert_max_num_queries(10) as shares_few:
        assert len(owner.get(doc_url(document, "/shares")).json()["shares"]) == 2
    shares_queries = len(shares_few)  # counted now: the next request clears Django's query log
    with django_assert_max_num_queries(10) as links_few:
        assert len(owner.get(doc_url(document, "/share-links")).json()["links"]) == 2
    links_queries = len(links_few)
    for _ in range(12):
        _grant(team, document, UserFactory())
        link_create(actor=team.user("owner"), document=document, mode="comment")
    with django_assert_max_num_queries(shares_queries):
        assert len(owner.get(doc_url(document, "/shares")).json()["shares"]) == 14
    with django_assert_max_num_queries(links_queries):
        assert len(owner.get(doc_url(document, "/share-links")).json()["links"]) == 14


def test_api_shares_erasing_an_account_ends_its_grants_and_keeps_its_comments(team, document):
    from accounts.services.erasure import user_delete
    from documents.models import Comment
    from documents.services.comments import comment_create

    guest = UserFactory()
    _grant(team, document, guest, "commenter")
    comment = comment_create(actor=guest, document=document, data={"content": "Outside view"})
    user_delete(user=guest)
    assert not DocumentShare.objects.filter(user=guest).exists() and _perms(guest, document) == set()
    body = team.client("owner").get(f"/api/v1/comments/{comment.pk}").json()
    assert body["content"] == "Outside view" and body["author"]["display_name"] == "Deleted user"
    assert Comment.objects.filter(pk=comment.pk).exists()


OUTSIDERS = ["grant-viewer", "grant-commenter", "grant-editor", "link-view", "link-comment"]


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_api_shares_and_links_outsiders_manage_nothing(team, document, outsider, kind):
    """SPEC §2.3: grants and share links are managed with the invite flag, which grantees and link holders
    never have. A grantee sees the document: 403. A share token opens the document's reading endpoints only
    (SPEC §3.4), not these: for its holder the document stays hidden, 404. Nothing changes either way."""
    from documents.models import ShareLink
    from documents.services.links import link_create

    _, client, headers = outsider(kind)
    share = _grant(team, document, UserFactory())
    link, _ = link_create(actor=team.user("owner"), document=document, mode="view")
    before = (
        sorted(DocumentShare.objects.values_list("pk", "role", "status")),
        sorted(ShareLink.objects.values_list("pk", "revoked_at")),
        Invitation.objects.count(),
    )
    calls = [
        ("get", doc_url(document, "/shares"), None),
        ("post", doc_url(document, "/shares"), {"email": "new@example.com", "role": "viewer"}),
        ("patch", doc_url(document, f"/shares/{share['id']}"), {"role": "editor"}),
        ("delete", doc_url(document, f"/shares/{share['id']}"), None),
        ("get", doc_url(document, "/share-links"), None),
        ("post", doc_url(document, "/share-links"), {"mode": "comment"}),
        ("delete", doc_url(document, f"/share-links/{link.pk}"), None),
    ]
    status, slug = (403, "permission-denied") if kind.startswith("grant-") else (404, "not-found")
    for method, url, body in calls:
        response = getattr(client, method)(url, body, format="json", **headers)
        assert_problem(response, status, slug)
    after = (
        sorted(DocumentShare.objects.values_list("pk", "role", "status")),
        sorted(ShareLink.objects.values_list("pk", "revoked_at")),
        Invitation.objects.count(),
    )
    assert after == before


def test_api_shares_and_links_anonymous_link_holder_is_401(team, document):
    from documents.services.links import link_create, link_resolve

    allow_guests(document.workspace)
    _, token = link_create(actor=team.user("owner"), document=document, mode="comment")
    _, session = link_resolve(token=token, password=None, client_key="test")
    anonymous = APIClient()
    for url in (doc_url(document, "/shares"), doc_url(document, "/share-links")):
        assert_problem(anonymous.get(url, HTTP_X_SHARE_TOKEN=session), 401, "authentication-required")
        assert_problem(anonymous.post(url, {"mode": "view"}, format="json", HTTP_X_SHARE_TOKEN=session), 401,
                       "authentication-required")


@pytest.mark.parametrize("actor", ACTORS)
def test_api_shares_and_links_every_endpoint_every_actor(team, document, actor):
    """Each grant and link endpoint for each member role, a non-member and an anonymous caller: the §2.3
    status, and the database state after each call (changed only by an allowed call)."""
    from documents.models import ShareLink
    from documents.services.links import link_create

    allow_guests(document.workspace)
    grantee = UserFactory()
    share = _grant(team, document, grantee)
    link, _ = link_create(actor=team.user("owner"), document=document, mode="view")
    client = team.client(actor)

    def state():
        return (
            sorted(DocumentShare.objects.values_list("user_id", "role", "status")),
            sorted(ShareLink.objects.values_list("pk", flat=True)),
            sorted(ShareLink.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)),
            Invitation.objects.filter(document=document).count(),
        )

    calls = [
        ("get", "/shares", None, 200, lambda old, new: new == old),
        ("post", "/shares", {"email": "late@example.com", "role": "viewer"}, 201,
         lambda old, new: new[3] == old[3] + 1),
        ("patch", f"/shares/{share['id']}", {"role": "editor"}, 200,
         lambda old, new: (grantee.pk, "editor", "active") in new[0]),
        ("delete", f"/shares/{share['id']}", None, 204,
         lambda old, new: (grantee.pk, "editor", "revoked") in new[0]),
        ("get", "/share-links", None, 200, lambda old, new: new == old),
        ("post", "/share-links", {"mode": "comment"}, 201, lambda old, new: len(new[1]) == len(old[1]) + 1),
        ("delete", f"/share-links/{link.pk}", None, 204, lambda old, new: link.pk in new[2]),
    ]
    for method, suffix, body, ok, changed in calls:
        before = state()
        response = getattr(client, method)(doc_url(document, suffix), body, format="json")
        expected = outcome(actor, MANAGERS, ok=ok)
        assert response.status_code == expected, (method, suffix, response.content)
        if expected == ok:
            assert changed(before, state()), (method, suffix)
        else:
            assert_refused(response, expected)
            assert state() == before, (method, suffix)
