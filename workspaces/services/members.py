"""Memberships: role and override changes, removal and leaving (SPEC §2.2, §2.3)."""

from __future__ import annotations

import uuid

from django.db import transaction

from mdcreator.errors import NotFoundError, PermissionDeniedError, ValidationProblem
from sync.models import SyncLog
from workspaces.access import Access
from workspaces.errors import CannotChangeOwnerError, CannotRemoveOwnerError
from workspaces.models import Workspace, WorkspaceMember
from workspaces.roles import RANK, Role, clean_overrides, override_errors
from workspaces.services.workspaces import member_sync_data, record_member_change


def _locked_member(workspace: Workspace, user_id: uuid.UUID) -> WorkspaceMember:
    member = (
        WorkspaceMember.objects.select_for_update()
        .select_related("user")
        .filter(workspace=workspace, user_id=user_id, is_active=True)
        .first()
    )
    if member is None:
        raise NotFoundError("No active member with this id in the workspace.")
    return member


def _check_may_manage(actor: Access, target: WorkspaceMember) -> None:
    """Owners manage every non-owner; admins only members ranked below admin."""
    if actor.role == Role.OWNER:
        return
    if actor.rank < RANK[Role.ADMIN] or RANK[target.role] >= RANK[Role.ADMIN]:
        raise PermissionDeniedError("Admins can only manage members ranked below admin.")


def _merged_overrides(role: str, current: dict, changes: dict) -> dict:
    """Merge override changes (null removes one) and check them against the guard rails."""
    merged = {**current}
    for flag, value in changes.items():
        if value is None:
            merged.pop(flag, None)
        else:
            merged[flag] = value
    problems = override_errors(role, {flag: value for flag, value in changes.items() if value is not None})
    if problems:
        raise ValidationProblem({f"permissions.{flag}": messages for flag, messages in problems.items()})
    return clean_overrides(role, merged)


@transaction.atomic
def membership_update(
    *, workspace: Workspace, actor, actor_access: Access, user_id: uuid.UUID, role: str | None = None,
    permissions: dict | None = None,
) -> WorkspaceMember:
    """Change a member's role and/or overrides within the rules of §2.2 and §2.3."""
    member = _locked_member(workspace, user_id)
    if member.role == Role.OWNER:
        raise CannotChangeOwnerError()
    _check_may_manage(actor_access, member)
    if permissions is not None and actor_access.role != Role.OWNER:
        raise PermissionDeniedError("Only the owner sets permission overrides.")
    new_role = role or member.role
    if role is not None and actor_access.role != Role.OWNER and RANK[new_role] > RANK[Role.EDITOR]:
        raise PermissionDeniedError("Admins can assign roles up to editor.")
    before = member_sync_data(member)
    overrides = _merged_overrides(new_role, member.permissions, permissions or {})
    member.role, member.permissions = new_role, overrides
    member.save(update_fields=["role", "permissions"])
    if member_sync_data(member) != before:
        record_member_change(member=member, operation=SyncLog.Operation.UPDATE, actor=actor, old=before)
    return member


@transaction.atomic
def membership_remove(*, workspace: Workspace, actor, actor_access: Access, user_id: uuid.UUID) -> None:
    """Remove a member (or leave, when `user_id` is the caller); the owner never goes."""
    member = _locked_member(workspace, user_id)
    if member.role == Role.OWNER:
        raise CannotRemoveOwnerError()
    if member.user_id != actor.pk:
        _check_may_manage(actor_access, member)
    before = member_sync_data(member)
    member.is_active = False
    member.save(update_fields=["is_active"])
    record_member_change(member=member, operation=SyncLog.Operation.DELETE, actor=actor, old=before)
