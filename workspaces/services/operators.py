"""Operator actions on workspaces, memberships and invitations (admin and commands, SPEC §8)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from mdcreator.errors import ConflictError
from sync.models import SyncLog
from sync.origin import ADMIN, Origin
from workspaces.contents import restore_contents
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
