"""The access resolver: the only authority on who may do what (SPEC §2.4).

`resolve(user, obj)` answers for a workspace, a document or a folder with an
`Access`: the caller's role, effective flags, where the access comes from, and
the object's abilities computed once from `workspaces.abilities`. None means the
object is not visible to the caller (404 everywhere, never 403).

Every surface asks it: REST permission classes (`workspaces.permissions`,
`documents.permissions`), the selectors, search and both socket dialects.
Document grants and share links join as further sources in `resolve`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import QuerySet

from mdcreator.queries import only_row
from workspaces.abilities import Kind, Source, abilities_for
from workspaces.models import WorkspaceMember
from workspaces.roles import RANK, Role, effective_flags, rank


@dataclass(frozen=True)
class Access:
    """What a caller holds on one object: a role, its effective flags, where it comes from, and the abilities."""

    role: str
    flags: dict[str, bool]
    source: str  # Source: member | grant | link
    kind: Kind = Kind.WORKSPACE
    member: WorkspaceMember | None = field(default=None, compare=False)
    abilities: dict[str, bool] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        abilities = abilities_for(self.kind, role=self.role, flags=self.flags, source=self.source)
        object.__setattr__(self, "abilities", abilities)

    def can(self, ability: str) -> bool:
        """Whether this access grants the ability (unknown abilities are refused)."""
        return self.abilities.get(ability, False)

    def has(self, flag: str) -> bool:
        """Whether the effective flag is set."""
        return bool(self.flags.get(flag))

    @property
    def rank(self) -> int:
        return rank(self.role)


def active_memberships(user) -> QuerySet[WorkspaceMember]:
    """The caller's active memberships of live workspaces: the one membership rule."""
    return WorkspaceMember.objects.filter(user=user, is_active=True, workspace__deleted_at__isnull=True)


def access_from_membership(member: WorkspaceMember, kind: Kind = Kind.WORKSPACE) -> Access:
    """The Access a membership row confers on its workspace, or on one of its documents or folders."""
    return Access(
        role=member.role,
        flags=effective_flags(member.role, member.permissions),
        source=Source.MEMBER,
        kind=kind,
        member=member,
    )


def kind_of(obj) -> Kind:
    """Which abilities table answers for `obj`: its own, or its workspace's for other workspace-scoped objects."""
    name = getattr(getattr(obj, "_meta", None), "model_name", None)
    return Kind(name) if name in Kind._value2member_map_ else Kind.WORKSPACE


# Sources of access to a single document beyond membership, in the order they are asked:
# document grants, then share links (registered by the documents app in its AppConfig.ready()).
DocumentSource = Callable[..., "Access | None"]
_document_sources: dict[str, DocumentSource] = {}


def register_document_source(name: str, source: DocumentSource) -> None:
    """Add a source: `source(user, document, share_token) -> Access | None` (user may be anonymous)."""
    _document_sources[name] = source


def resolve(user, obj, share_token: str | None = None) -> Access | None:
    """What `user` may do on a workspace, document or folder; None = not visible.

    Sources, first match wins: workspace membership (one indexed query); for a document
    only, then a grant to this person and a share link's `share_token` (documents.sharing).
    Grantees and link holders never see the workspace, its folders or other documents.
    """
    kind = kind_of(obj)
    if user is not None and user.is_authenticated:
        workspace_id = getattr(obj, "workspace_id", None) or obj.pk  # a workspace, or an object inside one
        member = only_row(active_memberships(user).filter(workspace_id=workspace_id).select_related("workspace"))
        if member is not None:
            return access_from_membership(member, kind)
    if kind == Kind.DOCUMENT:
        for source in _document_sources.values():
            access = source(user, obj, share_token)
            if access is not None:
                return access
    return None


def invitable_roles(access: Access) -> list[str]:
    """Roles this caller may invite or assign: the owner any but owner, others up to editor and their own rank."""
    if access.role == Role.OWNER:
        return [role for role in Role if role != Role.OWNER]
    ceiling = min(RANK[Role.EDITOR], access.rank)
    return [role for role in Role if RANK[role] <= ceiling]
