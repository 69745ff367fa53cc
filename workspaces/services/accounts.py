"""The workspaces' part of an account (registered with accounts.parts): personal workspace, export, erasure."""

from __future__ import annotations

from django.db.models import Exists, OuterRef

from mdcreator.timestamps import utc_timestamp_or_none
from sync.models import SyncLog
from workspaces.errors import OwnsSharedWorkspaceError
from workspaces.models import Workspace, WorkspaceMember
from workspaces.services.workspaces import (
    member_sync_data,
    record_member_change,
    workspace_create_personal,
    workspace_mark_deleted,
)


def account_provision(user) -> None:
    """Every account starts with its personal workspace (SPEC §3.1)."""
    workspace_create_personal(user=user)


def account_export(user) -> dict:
    """`memberships`: every workspace the person belongs or belonged to."""
    rows = WorkspaceMember.objects.filter(user=user).select_related("workspace").order_by("joined_at")
    return {
        "memberships": [
            {
                "workspace_id": str(m.workspace_id),
                "workspace_name": m.workspace.name,
                "is_personal": m.workspace.is_personal,
                "role": m.role,
                "permission_overrides": m.permissions,
                "is_active": m.is_active,
                "joined_at": utc_timestamp_or_none(m.joined_at),
                "workspace_deleted_at": utc_timestamp_or_none(m.workspace.deleted_at),
            }
            for m in rows
        ]
    }


def shared_workspaces_owned(user):
    """Live team workspaces `user` owns that have other active members."""
    others = WorkspaceMember.objects.filter(workspace=OuterRef("pk"), is_active=True).exclude(user=user)
    return Workspace.objects.filter(owner=user, is_team=True, deleted_at__isnull=True).filter(Exists(others))


def account_check_erasable(user) -> None:
    """409 `owns-shared-workspace` while the person owns a team workspace others still use."""
    names = list(shared_workspaces_owned(user).order_by("name").values_list("name", flat=True))
    if names:
        raise OwnsSharedWorkspaceError(
            f"Transfer or empty the team workspaces you own before deleting your account: {', '.join(names)}."
        )


def account_erase(user) -> None:
    """Soft-delete the workspaces the person owns (with their documents) and end their other memberships."""
    for workspace in Workspace.objects.select_for_update().filter(owner=user, deleted_at__isnull=True):
        workspace_mark_deleted(workspace=workspace, actor=user)
    memberships = WorkspaceMember.objects.select_for_update().filter(
        user=user, is_active=True, workspace__deleted_at__isnull=True
    )
    for member in memberships:
        before = member_sync_data(member)
        member.is_active = False
        member.save(update_fields=["is_active"])
        record_member_change(member=member, operation=SyncLog.Operation.DELETE, actor=user, old=before)
