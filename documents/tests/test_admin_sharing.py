"""The admin pages and actions of comments, grants and share links; purge_expired (SPEC §8)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from documents.models import Comment, DocumentShare, DocumentUserObjectPermission, ShareLink
from documents.services.comments import comment_create
from documents.services.links import link_create
from documents.services.shares import share_create
from sync.models import SyncLog
from workspaces.models import Invitation
from workspaces.tests.helpers import allow_guests

pytestmark = pytest.mark.django_db


def _action(client, model, action, ids):
    return client.post(f"/admin/documents/{model}/", {"action": action, "_selected_action": [str(i) for i in ids]})


@pytest.mark.parametrize("page", ["comment", "documentshare", "sharelink"])
def test_admin_sharing_changelists_open(support_client, team, document, page):
    allow_guests(document.workspace)
    comment = comment_create(actor=team.user("editor"), document=document, data={"content": "A remark"})
    share = share_create(actor=team.user("owner"), document=document, role="viewer", user_id=UserFactory().pk)
    link, _ = link_create(actor=team.user("owner"), document=document, mode="view")
    listing = support_client.get(f"/admin/documents/{page}/")
    shown = {"comment": comment, "documentshare": share, "sharelink": link}[page]
    assert listing.status_code == 200 and f"/admin/documents/{page}/{shown.pk}/change/" in listing.content.decode()


def test_admin_sharing_link_pages_hide_its_secrets(support_client, team, document):
    allow_guests(document.workspace)
    link, token = link_create(actor=team.user("owner"), document=document, mode="view", password="hidden-pass")
    listing = support_client.get("/admin/documents/sharelink/").content.decode()
    detail = support_client.get(f"/admin/documents/sharelink/{link.pk}/change/").content.decode()
    assert token not in detail and link.token_hash not in detail and link.password_hash not in detail
    assert link.token_prefix in listing and token not in listing and link.token_hash not in listing


def test_admin_sharing_comment_search_finds_by_content(support_client, team, document):
    found = comment_create(actor=team.user("editor"), document=document, data={"content": "Findable remark"})
    other = comment_create(actor=team.user("editor"), document=document, data={"content": "Something else"})
    hits = support_client.get("/admin/documents/comment/", {"q": "Findable"}).content.decode()
    assert f"/admin/documents/comment/{found.pk}/change/" in hits
    assert f"/admin/documents/comment/{other.pk}/change/" not in hits


def test_admin_sharing_actions_go_through_the_services(support_client, team, document):
    allow_guests(document.workspace)
    comment = comment_create(actor=team.user("editor"), document=document, data={"content": "Off topic"})
    guest = UserFactory()
    share = share_create(actor=team.user("owner"), document=document, role="editor", user_id=guest.pk)
    link, _ = link_create(actor=team.user("owner"), document=document, mode="view")

    _action(support_client, "comment", "soft_delete", [comment.pk])
    assert Comment.objects.get(pk=comment.pk).deleted_at is not None
    entry = SyncLog.objects.filter(entity_id=comment.pk).order_by("-seq").first()
    assert (entry.operation, entry.origin) == ("delete", "admin")
    _action(support_client, "comment", "restore", [comment.pk])
    assert Comment.objects.get(pk=comment.pk).deleted_at is None

    _action(support_client, "documentshare", "revoke", [share.pk])
    assert DocumentShare.objects.get(pk=share.pk).status == "revoked"
    assert not DocumentUserObjectPermission.objects.filter(user=guest).exists()

    _action(support_client, "sharelink", "revoke", [link.pk])
    assert ShareLink.objects.get(pk=link.pk).revoked_at is not None


def test_purge_expired_clears_what_expired_and_dry_run_changes_nothing(team, document):
    guest = UserFactory()
    share_create(actor=team.user("owner"), document=document, role="viewer", user_id=guest.pk)
    DocumentShare.objects.update(expires_at=timezone.now() - timedelta(days=1))
    share_create(actor=team.user("owner"), document=document, role="viewer", email="someone@example.com")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(days=1))

    out = StringIO()
    call_command("purge_expired", "--dry-run", stdout=out)
    assert "Would clear 1 expired grants." in out.getvalue() and "Would clear 1 invitations." in out.getvalue()
    assert DocumentUserObjectPermission.objects.filter(user=guest).exists()
    assert Invitation.objects.get().status == "pending"

    call_command("purge_expired", stdout=StringIO())
    assert not DocumentUserObjectPermission.objects.filter(user=guest).exists()
    assert Invitation.objects.get().status == "expired"
    out = StringIO()
    call_command("purge_expired", stdout=out)  # idempotent
    assert "Cleared 0 expired grants." in out.getvalue() and "Cleared 0 invitations." in out.getvalue()
