"""Account deletion: anonymize the person, keep everyone else's data (SPEC §3.1)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts.models import EmailCode, RefreshToken, User, default_user_settings
from mdcreator.errors import ConflictError
from sync.models import SyncLog
from workspaces.models import Workspace, WorkspaceMember
from workspaces.services.workspaces import member_sync_data, record_member_change, workspace_mark_deleted


class OwnsSharedWorkspaceError(ConflictError):
    code, title = "owns-shared-workspace", "Owns a shared workspace"
    default_detail = "Transfer or empty the team workspaces you own before deleting your account."


def shared_workspaces_owned(user: User):
    """Live team workspaces `user` owns that have other active members."""
    others = WorkspaceMember.objects.filter(workspace=OuterRef("pk"), is_active=True).exclude(user=user)
    return Workspace.objects.filter(owner=user, is_team=True, deleted_at__isnull=True).filter(Exists(others))


def _soft_delete_owned(user: User) -> None:
    for workspace in Workspace.objects.select_for_update().filter(owner=user, deleted_at__isnull=True):
        workspace_mark_deleted(workspace=workspace, actor=user)


def _leave_others(user: User) -> None:
    memberships = WorkspaceMember.objects.select_for_update().filter(
        user=user, is_active=True, workspace__deleted_at__isnull=True
    )
    for member in memberships:
        before = member_sync_data(member)
        member.is_active = False
        member.save(update_fields=["is_active"])
        record_member_change(member=member, operation=SyncLog.Operation.DELETE, actor=user, old=before)


def _anonymize(user: User, now) -> None:
    user.email = f"deleted+{user.pk}@invalid"
    user.username = None
    user.display_name = ""
    user.avatar_url = None
    user.bio = ""
    user.oidc_issuer = None
    user.oidc_sub = None
    user.settings = default_user_settings()
    user.set_unusable_password()
    user.email_verified = False
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.deleted_at = now
    user.save()
    user.groups.clear()
    user.user_permissions.clear()


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Erase an account: refused while it owns a shared team workspace; one transaction."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if shared_workspaces_owned(user).exists():
        raise OwnsSharedWorkspaceError()
    now = timezone.now()
    RefreshToken.objects.filter(user=user).delete()
    EmailCode.objects.filter(user=user).delete()
    _soft_delete_owned(user)
    _leave_others(user)
    _anonymize(user, now)
