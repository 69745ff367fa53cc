"""Reads of workspaces, members and invitations, filtered in SQL to what the caller may see."""

from __future__ import annotations

import uuid

from django.db.models import Case, IntegerField, OuterRef, QuerySet, Value, When
from django.utils import timezone

from accounts.tokens import sha256_hex
from mdcreator.errors import NotFoundError
from mdcreator.queries import count_of, only_row
from mdcreator.validation import first_or_404, uuid_or_404
from workspaces.access import Access, access_from_membership, active_memberships
from workspaces.contents import count_annotations
from workspaces.models import Invitation, Workspace, WorkspaceMember
from workspaces.roles import RANK


def _active_member_count(outer: str):
    """Subquery: active members of the workspace named by `outer`."""
    return count_of(WorkspaceMember.objects.filter(workspace=OuterRef(outer), is_active=True), "workspace")


def workspace_list(*, user, kind: str | None = None) -> QuerySet[WorkspaceMember]:
    """The caller's active memberships of live workspaces, with the workspace and its counts."""
    memberships = (
        active_memberships(user)
        .select_related("workspace")
        .annotate(member_count=_active_member_count("workspace_id"), **count_annotations("workspace_id"))
        .order_by("-workspace__is_personal", "workspace__name", "workspace_id")
    )
    if kind == "personal":
        memberships = memberships.filter(workspace__is_personal=True)
    elif kind == "team":
        memberships = memberships.filter(workspace__is_team=True)
    return memberships


def workspace_get(*, user, workspace_id: uuid.UUID | str, with_counts: bool = True) -> tuple[Workspace, Access]:
    """A live workspace the caller belongs to, with the caller's access; 404 otherwise.

    `with_counts` adds member_count and document_count (the Workspace body); callers that only
    need the access leave them out: counting a workspace's documents reads its whole index.
    """
    workspace_id = uuid_or_404(workspace_id)
    members = active_memberships(user).filter(workspace_id=workspace_id).select_related("workspace")
    if with_counts:  # the Workspace body: its owner and counts
        members = members.select_related("workspace__owner").annotate(
            member_count=_active_member_count("workspace_id"), **count_annotations("workspace_id")
        )
    member = only_row(members)  # (workspace, user) is unique
    if member is None:
        raise NotFoundError("No workspace with this id.")
    if with_counts:
        copy_counts(member, count_names())
    return member.workspace, access_from_membership(member)


def count_names() -> tuple[str, ...]:
    """The names of the count annotations of a membership row: `member_count` and every app's."""
    return ("member_count", *count_annotations("workspace_id"))


def copy_counts(member: WorkspaceMember, names: tuple[str, ...]) -> Workspace:
    """Move the count annotations (`count_names()`, asked once per list) of a membership row onto its
    workspace, where the Workspace body reads them."""
    workspace = member.workspace
    for name in names:
        setattr(workspace, name, getattr(member, name))
    return workspace


def member_list(*, workspace: Workspace) -> QuerySet[WorkspaceMember]:
    """Active members of a workspace, owner first, then by rank and name."""
    by_rank = Case(*[When(role=role, then=Value(rank)) for role, rank in RANK.items()], output_field=IntegerField())
    return (
        WorkspaceMember.objects.filter(workspace=workspace, is_active=True)
        .select_related("user")
        .annotate(rank=by_rank)
        .order_by("-rank", "user__display_name", "pk")
    )


def invitation_list(*, workspace: Workspace, status: str | None = None) -> QuerySet[Invitation]:
    """Invitations of a workspace, newest first; pending past expiry count as expired."""
    invitations = workspace.invitations.select_related("invited_by").order_by("-created_at", "pk")
    now = timezone.now()
    if status == Invitation.Status.PENDING:
        invitations = invitations.filter(status=status, expires_at__gt=now)
    elif status == Invitation.Status.EXPIRED:
        invitations = invitations.filter(status__in=[status, Invitation.Status.PENDING]).exclude(
            status=Invitation.Status.PENDING, expires_at__gt=now
        )
    elif status:
        invitations = invitations.filter(status=status)
    return invitations


def invitation_get(*, workspace: Workspace, invitation_id) -> Invitation:
    """One invitation of this workspace; 404 otherwise."""
    return first_or_404(workspace.invitations.filter(pk=uuid_or_404(invitation_id)), "No invitation with this id.")


def invitation_by_token(*, token: str) -> Invitation:
    """The invitation behind a plaintext token, in a live workspace; 404 otherwise."""
    invitations = Invitation.objects.select_related("workspace", "invited_by").filter(
        token_hash=sha256_hex(token), workspace__deleted_at__isnull=True
    )
    return first_or_404(invitations, "No invitation with this token.")
