"""The admin pages and actions of workspaces, members and invitations."""

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from documents.models import Document
from documents.services.documents import document_create, document_delete
from sync.models import SyncLog
from workspaces.access import access_from_membership
from workspaces.models import Invitation, Workspace, WorkspaceMember
from workspaces.roles import Role
from workspaces.services.invitations import invitation_create
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    owner = UserFactory(email="owner@example.com")
    workspace = workspace_create(owner=owner, name="Blue Team")
    WorkspaceMember.objects.create(workspace=workspace, user=UserFactory(email="ed@example.com"), role=Role.EDITOR)
    return workspace


def _invite(workspace):
    owner_member = WorkspaceMember.objects.get(workspace=workspace, role=Role.OWNER)
    return invitation_create(
        workspace=workspace, actor=owner_member.user, actor_access=access_from_membership(owner_member),
        email="guest@example.com", role=Role.VIEWER,
    )


def _action(client, model, action, ids):
    return client.post(f"/admin/workspaces/{model}/", {"action": action, "_selected_action": [str(i) for i in ids]})


def test_admin_workspace_changelist_search_by_owner_email(support_client, team):
    workspace_create(owner=UserFactory(), name="Red Team")
    response = support_client.get("/admin/workspaces/workspace/", {"q": "owner@example.com"})
    assert response.status_code == 200
    assert "Blue Team" in response.content.decode() and "Red Team" not in response.content.decode()
    assert support_client.get(f"/admin/workspaces/workspace/{team.pk}/change/").status_code == 200


def test_admin_workspace_soft_delete_and_restore(support_client, team):
    assert _action(support_client, "workspace", "soft_delete", [team.pk]).status_code == 302
    team.refresh_from_db()
    assert team.deleted_at is not None
    assert SyncLog.objects.filter(workspace=team, entity_type="workspace", operation="delete").exists()
    filtered = support_client.get("/admin/workspaces/workspace/", {"deleted": "yes"}).content.decode()
    assert "Blue Team" in filtered
    _action(support_client, "workspace", "restore", [team.pk])
    team.refresh_from_db()
    assert team.deleted_at is None


def test_admin_member_deactivate_skips_owner(support_client, team):
    ids = WorkspaceMember.objects.filter(workspace=team).values_list("pk", flat=True)
    _action(support_client, "workspacemember", "deactivate", ids)
    states = dict(WorkspaceMember.objects.filter(workspace=team).values_list("role", "is_active"))
    assert states == {Role.OWNER: True, Role.EDITOR: False}


def test_admin_invitation_expire_and_resend_never_show_token(support_client, team, mailoutbox,
                                                              django_capture_on_commit_callbacks):
    invitation, token = _invite(team)
    page = support_client.get(f"/admin/workspaces/invitation/{invitation.pk}/change/").content.decode()
    assert invitation.token_hash not in page and token not in page
    with django_capture_on_commit_callbacks(execute=True):
        _action(support_client, "invitation", "resend", [invitation.pk])
    invitation.refresh_from_db()
    assert len(mailoutbox) == 1 and token not in mailoutbox[0].body
    _action(support_client, "invitation", "expire", [invitation.pk])
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.EXPIRED


def test_admin_support_cannot_edit_or_add_workspaces(support_client, team):
    assert support_client.get("/admin/workspaces/workspace/add/").status_code == 403
    response = support_client.post(f"/admin/workspaces/workspace/{team.pk}/change/", {"name": "Renamed"})
    assert response.status_code == 403
    team.refresh_from_db()
    assert team.name == "Blue Team"


def test_admin_non_staff_is_sent_to_login(team):
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/admin/workspaces/workspace/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert Workspace.objects.filter(pk=team.pk, deleted_at__isnull=True).exists()


def test_admin_workspace_soft_delete_takes_documents_along_and_restore_brings_them_back(support_client, team):
    owner = team.owner
    live = document_create(actor=owner, workspace=team, data={"title": "Live"})
    trashed_before = document_create(actor=owner, workspace=team, data={"title": "Old trash"})
    document_delete(actor=owner, document=trashed_before)
    _action(support_client, "workspace", "soft_delete", [team.pk])
    assert Document.objects.get(pk=live.pk).deleted
    _action(support_client, "workspace", "restore", [team.pk])
    assert not Document.objects.get(pk=live.pk).deleted
    assert Document.objects.get(pk=trashed_before.pk).deleted
