"""The existing client's sharing paths (SPEC §3.9) over grants and share links (§3.4): invite, members,
member role and removal, share/validate, and its share-link requests. As sharesClient.ts sends them."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from documents.models import DocumentShare, DocumentUserObjectPermission, ShareLink
from documents.services.links import link_create
from documents.services.shares import share_create
from documents.tests.helpers import (
    ACTORS,
    assert_problem,
    assert_refused,
    assert_validation,
    client_for,
    doc_url,
    is_timestamp,
    outcome,
    user_summary,
)
from workspaces.models import Invitation, Workspace
from workspaces.tests.helpers import allow_guests

pytestmark = pytest.mark.django_db

MANAGERS = ("owner", "admin")  # flag invite
VALIDATE = "/api/v1/share/validate"


def _perms(user, document) -> set[str]:
    rows = DocumentUserObjectPermission.objects.filter(user=user, content_object=document)
    return set(rows.values_list("permission__codename", flat=True))


def _rows(document) -> tuple:
    """Grants and document invitations, to prove a refusal wrote nothing."""
    shares = DocumentShare.objects.filter(document=document).values_list("user_id", "role", "status")
    invitations = Invitation.objects.filter(document=document).values_list("email", "role", "status")
    return sorted(shares, key=str), sorted(invitations, key=str)


@pytest.fixture
def guest():
    return UserFactory(display_name="Gail Guest", email="gail@example.com")


@pytest.fixture
def grant(team, document, guest):
    return share_create(actor=team.user("owner"), document=document, role="viewer", email=guest.email)


def _invite(client, document, emails, role="editor"):
    # As ShareModal sends it: inviteUsers(documentId, emailList, role) with no message, send_email true.
    return client.post(doc_url(document, "/invite"), {"emails": emails, "role": role, "send_email": True},
                       format="json")


def test_client_api_sharing_invite_grants_invites_and_reports_each_refusal(team, document, guest,
                                                                           django_capture_on_commit_callbacks):
    emails = ["Gail@Example.com", "newcomer@example.com", "editor@example.com", "not-an-email", "gail@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        response = _invite(team.client("owner"), document, emails, role="commenter")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    share = DocumentShare.objects.get(document=document)
    invitation = Invitation.objects.get(document=document)
    assert body["invited"] == [
        {"email": "gail@example.com", "status": "granted", "role": "commenter", "share_id": str(share.pk),
         "user_id": str(guest.pk), "invitation_id": None},
        {"email": "newcomer@example.com", "status": "pending", "role": "commenter", "share_id": None,
         "user_id": None, "invitation_id": str(invitation.pk)},
    ]
    assert [(e["email"], e["status"], e["code"]) for e in body["errors"]] == [
        ("editor@example.com", 409, "already-member"), ("not-an-email", 400, "validation-error"),
    ]
    assert all(e["detail"] for e in body["errors"])
    assert (share.user, share.role, share.granted_by) == (guest, "commenter", team.user("owner"))
    assert _perms(guest, document) == {"view_document", "comment_document"}
    assert (invitation.email, invitation.role, invitation.status) == ("newcomer@example.com", "commenter", "pending")
    assert [m.to for m in mail.outbox] == [["newcomer@example.com"]]


def test_client_api_sharing_invite_all_through_is_success(team, document):
    response = _invite(team.client("admin"), document, ["one@example.com", "two@example.com"], role="viewer")
    assert response.json()["success"] is True and len(response.json()["invited"]) == 2
    assert Invitation.objects.filter(document=document, status="pending").count() == 2


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_sharing_invite_by_actor(team, document, guest, actor):
    response = _invite(team.client(actor), document, [guest.email])
    expected = outcome(actor, MANAGERS)
    if expected != 200:
        assert_refused(response, expected)
        assert _rows(document) == ([], [])
        return
    assert response.json()["invited"][0]["status"] == "granted"
    assert DocumentShare.objects.get(document=document).granted_by == team.user(actor)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"emails": ["a@example.com"], "role": "admin"}, "role"),  # the client offers admin; grants stop at editor
        ({"emails": ["a@example.com"], "role": "owner"}, "role"),
        ({"emails": [], "role": "editor"}, "emails"),
        ({"emails": "a@example.com", "role": "editor"}, "emails"),
        ({"emails": [5], "role": "editor"}, "emails.0"),
        ({"emails": ["a@example.com"] * 51, "role": "editor"}, "emails"),
        ({"emails": ["a@example.com"], "message": "x" * 1001}, "message"),
        ({"emails": ["a@example.com"], "send_email": "yes"}, "send_email"),
    ],
)
def test_client_api_sharing_invite_bad_input(team, document, body, field):
    response = team.client("owner").post(doc_url(document, "/invite"), body, format="json")
    problem = assert_validation(response, field)
    assert problem["detail"].startswith(f"{field}: ")  # the client shows `detail`
    assert _rows(document) == ([], [])


def test_client_api_sharing_invite_role_refusal_says_why(team, document):
    problem = _invite(team.client("owner"), document, ["a@example.com"], role="admin").json()
    assert "editor, commenter or viewer" in problem["detail"]


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_sharing_members_by_actor(team, document, grant, guest, actor):
    share_create(actor=team.user("admin"), document=document, role="editor", email="later@example.com",
                 message="Welcome")
    response = team.client(actor).get(doc_url(document, "/members"))
    expected = outcome(actor, MANAGERS)
    if expected != 200:
        assert_refused(response, expected)
        return
    body = response.json()
    assert set(body) == {"members", "pending_invites"}
    [member] = body["members"]
    assert member == {
        "id": str(grant.pk), "document_id": str(document.pk),
        "user": {**user_summary(guest), "email": guest.email}, "role": "viewer", "status": "active",
        "granted_by": user_summary(team.user("owner")), "granted_at": member["granted_at"], "expires_at": None,
        "principal_type": "user", "principal_id": str(guest.pk), "user_email": guest.email, "user_name": "Gail Guest",
    }
    assert is_timestamp(member["granted_at"])
    [invite] = body["pending_invites"]
    invitation = Invitation.objects.get(document=document)
    assert (invite["id"], invite["email"], invite["role"], invite["status"]) == (
        str(invitation.pk), "later@example.com", "editor", "pending")
    assert (invite["document_id"], invite["message"]) == (str(document.pk), "Welcome")
    assert is_timestamp(invite["created_at"]) and is_timestamp(invite["expires_at"])
    assert (invite["inviter_name"], invite["inviter_email"]) == ("Admin Person", "admin@example.com")


def test_client_api_sharing_members_leaves_out_revoked_grants(team, document, grant):
    team.client("owner").delete(doc_url(document, f"/members/{grant.pk}"))
    assert team.client("owner").get(doc_url(document, "/members")).json() == {"members": [], "pending_invites": []}
    assert_refused(team.client("owner").get(doc_url("not-a-uuid", "/members")), 404)


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_sharing_member_role_by_actor(team, document, grant, guest, actor):
    response = team.client(actor).post(doc_url(document, f"/members/{grant.pk}/role"), {"role": "editor"},
                                       format="json")
    expected = outcome(actor, MANAGERS)
    if expected != 200:
        assert_refused(response, expected)
        assert DocumentShare.objects.get(pk=grant.pk).role == "viewer" and _perms(guest, document) == {"view_document"}
        return
    body = response.json()
    assert body["success"] is True and body["message"] == "Gail Guest is now editor of this document."
    assert body["member"]["id"] == str(grant.pk) and body["member"]["role"] == "editor"
    assert DocumentShare.objects.get(pk=grant.pk).role == "editor"
    assert _perms(guest, document) == {"view_document", "comment_document", "change_document"}


def test_client_api_sharing_member_role_bad_input_and_unknown_ids(team, document, grant, guest):
    client = team.client("owner")
    problem = assert_validation(client.post(doc_url(document, f"/members/{grant.pk}/role"), {"role": "admin"},
                                            format="json"), "role")
    assert "editor, commenter or viewer" in problem["detail"]
    assert_validation(client.post(doc_url(document, f"/members/{grant.pk}/role"), {}, format="json"), "role")
    # `{id}` is the grant's id, as the members list gives it; a user id is no grant.
    for member_id in (guest.pk, "not-a-uuid"):
        assert_refused(client.post(doc_url(document, f"/members/{member_id}/role"), {"role": "editor"},
                                   format="json"), 404)
        assert_refused(client.delete(doc_url(document, f"/members/{member_id}")), 404)
    assert DocumentShare.objects.get(pk=grant.pk).role == "viewer"
    assert_problem(client.get(doc_url(document, f"/members/{grant.pk}")), 405, "method-not-allowed")


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_sharing_member_remove_by_actor(team, document, grant, guest, actor):
    response = team.client(actor).delete(doc_url(document, f"/members/{grant.pk}"))
    expected = outcome(actor, MANAGERS)
    if expected != 200:
        assert_refused(response, expected)
        assert DocumentShare.objects.get(pk=grant.pk).status == "active"
        return
    assert response.json() == {"success": True, "message": "Access to this document was removed."}
    assert DocumentShare.objects.get(pk=grant.pk).status == "revoked" and _perms(guest, document) == set()
    assert_refused(client_for(guest).get(doc_url(document)), 404)
    assert_refused(team.client(actor).delete(doc_url(document, f"/members/{grant.pk}")), 404)


def test_client_api_sharing_invitation_accept_has_the_client_keys(team, document,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _invite(team.client("owner"), document, ["late@example.com"], role="viewer")
    token = mail.outbox[0].body.split("/invite/")[1].split()[0]
    newcomer = UserFactory(email="late@example.com", email_verified=True)
    accepted = client_for(newcomer).post(f"/api/v1/invitations/{token}/accept", {}, format="json")
    assert accepted.json() == {"workspace_id": str(team.workspace.pk), "document_id": str(document.pk),
                               "role": "viewer", "success": True, "message": "You now have access to the document."}
    assert DocumentShare.objects.get(document=document, user=newcomer).role == "viewer"


# --- share links: share/validate and the client's link requests -----------------------------------------------


@pytest.fixture
def guests_allowed(team):
    allow_guests(team.workspace)


def _link(team, document, **options) -> tuple[ShareLink, str]:
    return link_create(actor=team.user("owner"), document=document, mode=options.pop("mode", "view"), **options)


def _validate(token, password=None, client=None):
    # As GuestAccessHandler sends it; a stale Authorization header must not matter.
    client = client or APIClient(HTTP_AUTHORIZATION="Bearer stale")
    return client.post(VALIDATE, {"token": token, "password": password}, format="json")


def test_client_api_sharing_validate_opens_a_link(team, document, guests_allowed):
    link, token = _link(team, document, mode="comment")
    response = _validate(token)
    assert response.status_code == 200
    body = response.json()
    assert (body["valid"], body["document_id"], body["mode"], body["reason"]) == (True, str(document.pk),
                                                                                  "comment", None)
    assert ShareLink.objects.get(pk=link.pk).uses_count == 1
    # The client then reads the document with the link's own token (GuestAccessHandler keeps it).
    assert APIClient().get(doc_url(document), HTTP_X_SHARE_TOKEN=token).status_code == 200
    assert APIClient().get(doc_url(document), HTTP_X_SHARE_TOKEN=body["share_token"]).status_code == 200


def test_client_api_sharing_validate_says_why_a_link_opens_nothing(team, document, guests_allowed):
    def reason(token, password=None) -> str:
        response = _validate(token, password)
        assert response.status_code == 200
        body = response.json()
        assert (body["valid"], body["document_id"], body["mode"]) == (False, None, None)
        return body["reason"]

    assert reason("mds_unknown") == "invalid_token"
    protected, protected_token = _link(team, document, password="s3cret-pass", max_uses=1)
    assert reason(protected_token) == "password_required"
    assert reason(protected_token, "wrong") == "invalid_password"
    assert _validate(protected_token, "s3cret-pass").json()["valid"] is True
    assert reason(protected_token, "s3cret-pass") == "max_uses_exceeded"
    revoked, revoked_token = _link(team, document)
    ShareLink.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    assert reason(revoked_token) == "revoked"
    expired, expired_token = _link(team, document)
    ShareLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert reason(expired_token) == "expired"
    _, open_token = _link(team, document)
    Workspace.objects.filter(pk=team.workspace.pk).update(settings={"allow_guest_access": False})
    assert reason(open_token) == "guest_access_disabled"
    assert ShareLink.objects.get(pk=protected.pk).uses_count == 1


@pytest.mark.parametrize("body,field", [({}, "token"), ({"token": 5}, "token"), ({"token": "x" * 201}, "token")])
def test_client_api_sharing_validate_bad_input(body, field):
    assert_validation(APIClient().post(VALIDATE, body, format="json"), field)


def test_client_api_sharing_edit_links_are_refused_with_the_reason(team, document, guests_allowed):
    # ShareModal's createShareLink(documentId, mode) with the "Edit" choice.
    response = team.client("owner").post(doc_url(document, "/share-links"), {"mode": "edit"}, format="json")
    problem = assert_validation(response, "mode")
    assert "viewing or commenting only" in problem["detail"] and "as an editor" in problem["detail"]
    assert not ShareLink.objects.exists()
    # Only managers learn it: the others are refused first.
    assert_refused(team.client("editor").post(doc_url(document, "/share-links"), {"mode": "edit"}, format="json"), 403)


def test_client_api_sharing_links_carry_link_id(team, document, guests_allowed):
    created = team.client("owner").post(doc_url(document, "/share-links"), {"mode": "view"}, format="json").json()
    assert created["link_id"] == created["id"]
    [listed] = team.client("owner").get(doc_url(document, "/share-links")).json()["links"]
    assert listed["link_id"] == created["id"]
    assert team.client("owner").delete(doc_url(document, f"/share-links/{listed['link_id']}")).status_code == 204
