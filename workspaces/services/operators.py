"""Operator actions on workspaces, memberships and invitations (admin and commands, SPEC §8)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from mdcreator.errors import ConflictError
from sync.models import SyncLog
from sync.origin import ADMIN, Origin
from workspaces.contents import restore_contents, storage_used
from workspaces.errors import CannotRemoveOwnerError
from workspaces.models import Invitation, Workspace, WorkspaceMember
from workspaces.roles import Role
from workspaces.services.invitations import issue_token, mail_invitation
from workspaces.services.workspaces import (
    member_sync_data,
    record_member_change,
    record_workspace_change,
    workspace_mark_deleted,
)


@transaction.atomic
def workspace_soft_delete(*, workspace: Workspace, actor, origin: Origin = ADMIN) -> bool:
    """Soft-delete any workspace, members or not; False if it already was."""
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if workspace.deleted_at is not None:
        return False
    workspace_mark_deleted(workspace=workspace, actor=actor, origin=origin)
    return True


@transaction.atomic
def workspace_restore(*, workspace: Workspace, actor, origin: Origin = ADMIN) -> bool:
    """Undo a soft delete; False if the workspace was live."""
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if workspace.deleted_at is None:
        return False
    if workspace.owner.deleted_at is not None:
        raise ConflictError("The owner's account was erased; this workspace cannot come back.")
    # The documents that went down with the workspace come back with it; older trash stays.
    restore_contents(workspace=workspace, actor=actor, at=workspace.deleted_at)
    workspace.deleted_at = None
    workspace.save(update_fields=["deleted_at", "updated_at"])
    record_workspace_change(workspace=workspace, operation=SyncLog.Operation.UPDATE, actor=actor, origin=origin)
    return True


@transaction.atomic
def membership_deactivate(*, member: WorkspaceMember, actor, origin: Origin = ADMIN) -> bool:
    """Remove a member as an operator; the owner row stays. False if already inactive."""
    member = WorkspaceMember.objects.select_for_update().get(pk=member.pk)
    if member.role == Role.OWNER:
        raise CannotRemoveOwnerError()
    if not member.is_active:
        return False
    before = member_sync_data(member)
    member.is_active = False
    member.save(update_fields=["is_active"])
    record_member_change(member=member, operation=SyncLog.Operation.DELETE, actor=actor, old=before, origin=origin)
    return True


@transaction.atomic
def invitation_expire(*, invitation: Invitation) -> bool:
    """Expire a pending invitation now; False if it was not pending."""
    return bool(
        Invitation.objects.filter(pk=invitation.pk, status=Invitation.Status.PENDING).update(
            status=Invitation.Status.EXPIRED, expires_at=timezone.now()
        )
    )


@transaction.atomic
def invitation_resend(*, invitation: Invitation) -> bool:
    """Mail a pending invitation again under a new token valid 7 more days; the old link stops working."""
    invitation = Invitation.objects.select_for_update(of=("self",)).select_related("workspace", "invited_by").get(
        pk=invitation.pk
    )
    if invitation.status != Invitation.Status.PENDING:
        return False
    token = issue_token(invitation)
    invitation.save(update_fields=["token_hash", "expires_at"])
    mail_invitation(invitation, token)
    return True


@dataclass(frozen=True)
class StorageChange:
    """A workspace whose `storage_used_bytes` was (or would be) corrected."""

    workspace_id: object
    name: str
    before: int
    after: int


@transaction.atomic
def workspace_storage_recalc(*, workspace: Workspace, dry_run: bool = False) -> StorageChange | None:
    """Set `storage_used_bytes` to what the apps' stored objects charge, under the workspace row lock
    (so no confirm or delete moves it meanwhile); the change, or None when it was right."""
    locked = Workspace.objects.select_for_update().get(pk=workspace.pk)
    after = storage_used(workspace_id=locked.pk)
    if after == locked.storage_used_bytes:
        return None
    if not dry_run:
        Workspace.objects.filter(pk=locked.pk).update(storage_used_bytes=after)
    return StorageChange(locked.pk, locked.name, locked.storage_used_bytes, after)


def workspaces_storage_recalc(
    *, workspace_id=None, dry_run: bool = False, progress: Callable[[str], None] = lambda _: None
) -> list[StorageChange]:
    """Recalculate every workspace (or one), one transaction each; the changes, progress every 500."""
    workspaces = Workspace.objects.only("pk").order_by("pk")  # each is read again under its lock
    if workspace_id is not None:
        workspaces = workspaces.filter(pk=workspace_id)
    changes = []
    for done, workspace in enumerate(workspaces.iterator(chunk_size=500), start=1):
        change = workspace_storage_recalc(workspace=workspace, dry_run=dry_run)
        if change is not None:
            changes.append(change)
        if done % 500 == 0:
            progress(f"… {done} workspace(s) checked")
    return changes
