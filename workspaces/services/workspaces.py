"""Workspaces: create (team and personal), update, delete, transfer ownership (SPEC §3.2)."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from mdcreator.errors import ValidationProblem
from mdcreator.events import broadcast_on_commit, user_group
from sync.models import SyncLog
from sync.origin import REST
from sync.services import Origin, record_change
from workspaces.contents import trash_contents
from workspaces.errors import NotAMemberError, PersonalWorkspaceError, WorkspaceHasMembersError
from workspaces.models import Workspace, WorkspaceMember, default_workspace_settings
from workspaces.roles import Role, clean_overrides

_SLUG_MAX = 100
SYNCED_FIELDS = ("name", "slug", "description", "icon", "color", "is_personal", "is_team", "settings", "owner_id")


def workspace_sync_data(workspace: Workspace) -> dict:
    """The serialized form a sync entry carries for a workspace."""
    data = {name: getattr(workspace, name) for name in SYNCED_FIELDS}
    data["owner_id"] = str(workspace.owner_id)
    data["id"] = str(workspace.pk)
    return data


def member_sync_data(member: WorkspaceMember) -> dict:
    """The serialized form a sync entry carries for a membership."""
    return {
        "user_id": str(member.user_id),
        "role": member.role,
        "permissions": member.permissions,
        "is_active": member.is_active,
    }


def record_member_change(
    *, member: WorkspaceMember, operation: str, actor, old: dict | None = None, origin: Origin = REST
) -> None:
    """Log a membership change in the sync log and make that user's live sockets re-check access."""
    if operation != SyncLog.Operation.CREATE:
        broadcast_on_commit(user_group(member.user_id), {"type": "access.changed", "workspace_id": str(member.workspace_id)})
    record_change(
        entity_type=SyncLog.EntityType.MEMBER,
        entity_id=member.user_id,
        workspace_id=member.workspace_id,
        operation=operation,
        old=old,
        new=member_sync_data(member),
        actor=actor,
        origin=origin,
    )


def record_workspace_change(
    *, workspace: Workspace, operation: str, actor, old: dict | None = None, origin: Origin = REST
) -> None:
    """Log a workspace change (changed fields only) in its sync log."""
    record_change(
        entity_type=SyncLog.EntityType.WORKSPACE,
        entity_id=workspace.pk,
        workspace_id=workspace.pk,
        operation=operation,
        old=old,
        new=workspace_sync_data(workspace),
        actor=actor,
        origin=origin,
    )


def workspace_mark_deleted(*, workspace: Workspace, actor, origin: Origin = REST) -> None:
    """Soft-delete a locked workspace and, through `workspaces.contents`, its documents (purged after 30 days)."""
    now = timezone.now()
    workspace.deleted_at = now
    workspace.save(update_fields=["deleted_at", "updated_at"])
    trash_contents(workspace=workspace, actor=actor, at=now)
    record_workspace_change(workspace=workspace, operation=SyncLog.Operation.DELETE, actor=actor, origin=origin)


def _slug_candidates(name: str):
    base = slugify(name)[: _SLUG_MAX - 8].strip("-") or "workspace"
    taken = set(Workspace.objects.filter(slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        yield base
    suffix = 2
    while True:
        candidate = f"{base}-{suffix}"
        if candidate not in taken:
            yield candidate
        suffix += 1


def _save_with_unique_slug(workspace: Workspace) -> None:
    """Save a new workspace under the first free slug; retries when a concurrent create wins."""
    for attempt in range(5):
        workspace.slug = next(_slug_candidates(workspace.name)) if attempt < 4 else f"ws-{uuid.uuid4().hex[:12]}"
        try:
            with transaction.atomic():
                workspace.save(force_insert=True)
            return
        except IntegrityError:
            continue
    raise IntegrityError("could not allocate a workspace slug")


@transaction.atomic
def workspace_create(
    *, owner, name: str, description: str = "", icon: str = "", color: str = "", settings: dict | None = None,
    is_personal: bool = False,
) -> Workspace:
    """Create a workspace owned by `owner`, with its owner membership and sync entries."""
    workspace = Workspace(
        owner=owner,
        name=name,
        description=description,
        icon=icon,
        color=color,
        is_personal=is_personal,
        is_team=not is_personal,
        settings={**default_workspace_settings(), **(settings or {})},
    )
    _save_with_unique_slug(workspace)
    member = WorkspaceMember.objects.create(
        workspace=workspace, user=owner, role=Role.OWNER, invitation_accepted_at=timezone.now()
    )
    record_workspace_change(workspace=workspace, operation=SyncLog.Operation.CREATE, actor=owner)
    record_member_change(member=member, operation=SyncLog.Operation.CREATE, actor=owner)
    return workspace


def workspace_create_personal(*, user) -> Workspace:
    """The personal workspace every account gets: "<display_name>'s workspace"."""
    name = f"{user.display_name or user.email.split('@', 1)[0]}'s workspace"[:255]
    return workspace_create(owner=user, name=name, is_personal=True)


def _locked(workspace: Workspace) -> Workspace:
    return Workspace.objects.select_for_update().get(pk=workspace.pk)


@transaction.atomic
def workspace_update(*, workspace: Workspace, actor, data: dict) -> Workspace:
    """Apply a PATCH: plain fields replaced, `settings` merged shallowly."""
    workspace = _locked(workspace)
    old = workspace_sync_data(workspace)
    for name in ("name", "description", "icon", "color"):
        if name in data:
            setattr(workspace, name, data[name])
    if "settings" in data:
        workspace.settings = {**workspace.settings, **data["settings"]}
    workspace.save()
    if workspace_sync_data(workspace) != old:
        record_workspace_change(workspace=workspace, operation=SyncLog.Operation.UPDATE, actor=actor, old=old)
    return workspace


@transaction.atomic
def workspace_delete(*, workspace: Workspace, actor) -> None:
    """Soft-delete a team workspace that has no other active member."""
    workspace = _locked(workspace)
    if workspace.is_personal:
        raise PersonalWorkspaceError()
    if workspace.members.filter(is_active=True).exclude(user_id=workspace.owner_id).exists():
        raise WorkspaceHasMembersError()
    workspace_mark_deleted(workspace=workspace, actor=actor)


@transaction.atomic
def workspace_transfer_ownership(
    *, workspace: Workspace, actor, new_owner_id: uuid.UUID, demote_to: str = Role.ADMIN
) -> Workspace:
    """Make another active member the owner; the current owner keeps `demote_to`."""
    workspace = _locked(workspace)
    if workspace.is_personal:
        raise PersonalWorkspaceError()
    if demote_to == Role.OWNER:
        raise ValidationProblem({"demote_current_owner_to": ["There is exactly one owner."]})
    if new_owner_id == workspace.owner_id:
        raise ValidationProblem({"new_owner_id": ["This member already owns the workspace."]})
    members = {m.user_id: m for m in workspace.members.select_for_update().filter(is_active=True)}
    new_member, old_member = members.get(new_owner_id), members[workspace.owner_id]
    if new_member is None:
        raise NotAMemberError()
    before = {m.user_id: member_sync_data(m) for m in (new_member, old_member)}
    old_member.role, old_member.permissions = demote_to, clean_overrides(demote_to, old_member.permissions)
    old_member.save(update_fields=["role", "permissions"])
    new_member.role, new_member.permissions = Role.OWNER, {}
    new_member.save(update_fields=["role", "permissions"])
    old_data = workspace_sync_data(workspace)
    workspace.owner_id = new_owner_id
    workspace.save(update_fields=["owner", "updated_at"])
    for member in (old_member, new_member):
        record_member_change(member=member, operation=SyncLog.Operation.UPDATE, actor=actor, old=before[member.user_id])
    record_workspace_change(workspace=workspace, operation=SyncLog.Operation.UPDATE, actor=actor, old=old_data)
    return workspace
