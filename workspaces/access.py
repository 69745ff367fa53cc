"""The access resolver: the only authority on who may do what (SPEC §2.4)."""

from __future__ import annotations

from dataclasses import dataclass, field

from workspaces.models import Workspace, WorkspaceMember
from workspaces.roles import CAN_CREATE, CAN_DELETE, CAN_EDIT, CAN_INVITE, CAN_MANAGE, RANK, Role, effective_flags, rank


@dataclass(frozen=True)
class Access:
    """What a caller holds on an object: a role, its effective flags, and where it comes from."""

    role: str
    flags: dict[str, bool]
    source: str  # member | grant | link
    member: WorkspaceMember | None = field(default=None, compare=False)

    def has(self, flag: str) -> bool:
        """Whether the effective flag is set."""
        return bool(self.flags.get(flag))

    @property
    def rank(self) -> int:
        return rank(self.role)


def access_from_membership(member: WorkspaceMember) -> Access:
    """The Access a membership row confers."""
    return Access(role=member.role, flags=effective_flags(member.role, member.permissions), source="member", member=member)


def resolve(user, obj, share_token: str | None = None) -> Access | None:
    """What `user` may do on a workspace (or an object with `workspace_id`); None = not visible.

    Document grants and share links join this function with the documents.
    """
    if user is None or not user.is_authenticated:
        return None
    workspace_id = obj.pk if isinstance(obj, Workspace) else obj.workspace_id
    member = (
        WorkspaceMember.objects.select_related("workspace")
        .filter(workspace_id=workspace_id, user=user, is_active=True, workspace__deleted_at__isnull=True)
        .first()
    )
    return access_from_membership(member) if member is not None else None


def invitable_roles(access: Access) -> list[str]:
    """Roles this caller may invite or assign: the owner any but owner, others up to editor and their own rank."""
    if access.role == Role.OWNER:
        return [role for role in Role if role != Role.OWNER]
    ceiling = min(RANK[Role.EDITOR], access.rank)
    return [role for role in Role if RANK[role] <= ceiling]


def workspace_abilities(access: Access) -> dict[str, bool]:
    """Abilities on a workspace, named after the view actions."""
    is_owner = access.role == Role.OWNER
    return {
        "retrieve": True,
        "list_members": True,
        "partial_update": access.has(CAN_MANAGE),
        "destroy": is_owner,
        "transfer_ownership": is_owner,
        "invite": access.has(CAN_INVITE),
        "list_invitations": access.has(CAN_INVITE),
        "revoke_invitation": access.has(CAN_INVITE),
        "update_member": access.rank >= RANK[Role.ADMIN],
        "remove_member": access.rank >= RANK[Role.ADMIN],
        "leave": True,
    }


def document_abilities(access: Access) -> dict[str, bool]:
    """Abilities on a document (and on documents and folders of a workspace), named after view actions."""
    can_edit, can_delete = access.has(CAN_EDIT), access.has(CAN_DELETE)
    return {
        "retrieve": True,
        "star": True,
        "list_versions": True,
        "retrieve_version": True,
        "diff": True,
        "update": can_edit,
        "partial_update": can_edit,
        "create_version": can_edit,
        "restore_version": can_edit,
        "destroy": can_delete,
        "undelete": can_delete,
        "trash": can_delete,
        "create": access.has(CAN_CREATE),
        "list": True,
        "create_folder": access.has(CAN_CREATE),
        "update_folder": can_edit,
        "destroy_folder": can_delete,
    }
