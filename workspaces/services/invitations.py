"""Invitations: create, revoke, accept, decline (SPEC §3.2)."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.tokens import sha256_hex
from mdcreator import errors
from sync.models import SyncLog
from workspaces.access import Access, invitable_roles
from workspaces.contents import accept_object_invitation
from workspaces.errors import (
    AlreadyMemberError,
    InvitationEmailMismatchError,
    InvitationExpiredError,
    InvitationGoneError,
    InvitationLimitError,
    InvitationNotPendingError,
    InvitationPendingError,
    MemberLimitError,
    PersonalWorkspaceError,
)
from workspaces.models import Invitation, Workspace, WorkspaceMember
from workspaces.services.workspaces import member_sync_data, record_member_change

INVITATION_LIFETIME = timedelta(days=7)
MAX_PENDING = 50
Status = Invitation.Status


def invitation_link(token: str) -> str:
    """The link mailed to the invitee."""
    return f"{settings.FRONTEND_URL}/invite/{token}"


def invitations_expire_stale(*, workspace_id=None, dry_run: bool = False) -> int:
    """Mark pending invitations past their expiry as expired, of one workspace or all (purge_expired);
    returns how many."""
    stale = Invitation.objects.filter(status=Status.PENDING, expires_at__lte=timezone.now())
    if workspace_id is not None:
        stale = stale.filter(workspace_id=workspace_id)
    return stale.count() if dry_run else stale.update(status=Status.EXPIRED)


def _check_capacity(workspace: Workspace, email: str) -> None:
    if WorkspaceMember.objects.filter(workspace=workspace, is_active=True, user__email=email).exists():
        raise AlreadyMemberError()
    pending = workspace.invitations.filter(status=Status.PENDING, document__isnull=True)
    if pending.filter(email=email).exists():
        raise InvitationPendingError()
    pending_count = pending.count()
    if pending_count >= MAX_PENDING:
        raise InvitationLimitError()
    if workspace.members.filter(is_active=True).count() + pending_count >= workspace.member_limit:
        raise MemberLimitError()


def issue_token(invitation: Invitation) -> str:
    """Give an invitation a new one-time token (only its hash is kept) valid for INVITATION_LIFETIME from now;
    returns the plaintext token for the link. The caller saves the invitation."""
    token = secrets.token_hex(32)
    invitation.token_hash = sha256_hex(token)
    invitation.expires_at = timezone.now() + INVITATION_LIFETIME
    return token


def mail_link(invitation: Invitation, token: str, *, template: str, subject: str, **context) -> None:
    """Mail an invitation's link, written by `template`, once the transaction commits."""
    body = render_to_string(template, {"invitation": invitation, "link": invitation_link(token), **context})
    recipient = invitation.email
    transaction.on_commit(lambda: send_mail(subject, body, None, [recipient]))


def mail_invitation(invitation: Invitation, token: str) -> None:
    """Mail a workspace invitation's link once the transaction commits."""
    workspace = invitation.workspace
    subject = f"{invitation.invited_by.display_name} invited you to {workspace.name} on MD Creator"
    mail_link(invitation, token, template="workspaces/email/invitation.txt", subject=subject, workspace=workspace)


@transaction.atomic
def invitation_create(
    *, workspace: Workspace, actor, actor_access: Access, email: str, role: str, message: str = ""
) -> tuple[Invitation, str]:
    """Invite `email` with `role`; returns the invitation and its one-time plaintext token."""
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    if workspace.is_personal:
        raise PersonalWorkspaceError()
    if role not in invitable_roles(actor_access):
        raise errors.PermissionDeniedError(f"You cannot invite members as {role}.")
    email = email.strip().lower()
    invitations_expire_stale(workspace_id=workspace.pk)
    _check_capacity(workspace, email)
    invitation = Invitation(workspace=workspace, invited_by=actor, email=email, role=role, message=message)
    token = issue_token(invitation)
    invitation.save(force_insert=True)
    mail_invitation(invitation, token)
    return invitation, token


@transaction.atomic
def invitation_revoke(*, invitation: Invitation) -> None:
    """Revoke a pending invitation."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != Status.PENDING or invitation.expires_at <= timezone.now():
        raise InvitationNotPendingError()
    invitation.status = Status.REVOKED
    invitation.save(update_fields=["status"])


def invitation_check_usable(invitation: Invitation) -> None:
    """410 for invitations that can no longer be answered (expired, revoked, declined)."""
    if invitation.status == Status.EXPIRED or (
        invitation.status == Status.PENDING and invitation.expires_at <= timezone.now()
    ):
        raise InvitationExpiredError()
    if invitation.status in (Status.REVOKED, Status.DECLINED):
        raise InvitationGoneError()


def _answerable(token: str, user) -> Invitation:
    """The invitation behind `token`, locked, if `user` may answer it."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("workspace")
        .filter(token_hash=sha256_hex(token), workspace__deleted_at__isnull=True)
        .first()
    )
    if invitation is None:
        raise errors.NotFoundError("No invitation with this token.")
    if invitation.email != user.email.lower():
        raise InvitationEmailMismatchError()
    return invitation


def invitation_accept(*, token: str, user) -> tuple[Invitation, str]:
    """Join the workspace, or take the document grant offered; returns the invitation and the role held.

    Idempotent for an invitation this user already accepted.
    """
    outcome = _accept(token=token, user=user)
    if isinstance(outcome, errors.ProblemError):
        raise outcome
    return outcome


@transaction.atomic
def _accept(*, token: str, user) -> tuple[Invitation, str] | errors.ProblemError:
    invitation = _answerable(token, user)
    if invitation.document_id is not None:
        return _accept_document(invitation, user)
    if invitation.status == Status.ACCEPTED:
        member = WorkspaceMember.objects.filter(workspace=invitation.workspace, user=user, is_active=True).first()
        if invitation.user_id == user.pk and member is not None:
            return invitation, member.role
        return InvitationGoneError()
    try:
        invitation_check_usable(invitation)
    except errors.ProblemError as problem:
        if isinstance(problem, InvitationExpiredError) and invitation.status == Status.PENDING:
            invitation.status = Status.EXPIRED  # kept: the refusal commits the expiry
            invitation.save(update_fields=["status"])
        return problem
    _check_verified(user)
    return invitation, _join(invitation, user).role


def _check_verified(user) -> None:
    if not user.email_verified:
        raise errors.EmailNotVerifiedError("Confirm your email address before accepting invitations.")


def _accept_document(invitation: Invitation, user) -> tuple[Invitation, str] | errors.ProblemError:
    """A document invitation: the app that keeps documents turns it into a grant (workspaces.contents)."""
    if invitation.status == Status.ACCEPTED and invitation.user_id != user.pk:
        return InvitationGoneError()
    if invitation.status != Status.ACCEPTED:
        try:
            invitation_check_usable(invitation)
        except errors.ProblemError as problem:
            return problem
        _check_verified(user)
    role = accept_object_invitation(invitation, user)
    if invitation.status != Status.ACCEPTED:
        invitation.status, invitation.user, invitation.accepted_at = Status.ACCEPTED, user, timezone.now()
        invitation.save(update_fields=["status", "user", "accepted_at"])
    return invitation, role


def _join(invitation: Invitation, user) -> WorkspaceMember:
    workspace = Workspace.objects.select_for_update().get(pk=invitation.workspace_id)
    member = WorkspaceMember.objects.filter(workspace=workspace, user=user).first()
    if member is None or not member.is_active:
        if workspace.members.filter(is_active=True).count() >= workspace.member_limit:
            raise MemberLimitError()
        before = member_sync_data(member) if member else None
        member = member or WorkspaceMember(workspace=workspace, user=user)
        member.role, member.permissions, member.is_active = invitation.role, {}, True
        member.invited_by_id = invitation.invited_by_id
        member.invitation_accepted_at = timezone.now()
        member.save()
        operation = SyncLog.Operation.UPDATE if before else SyncLog.Operation.CREATE
        record_member_change(member=member, operation=operation, actor=user, old=before)
    invitation.status, invitation.user, invitation.accepted_at = Status.ACCEPTED, user, timezone.now()
    invitation.save(update_fields=["status", "user", "accepted_at"])
    return member


@transaction.atomic
def invitation_decline(*, token: str, user) -> None:
    """Decline a pending invitation addressed to this user."""
    invitation = _answerable(token, user)
    if invitation.status == Status.ACCEPTED:
        raise InvitationGoneError()
    invitation_check_usable(invitation)
    invitation.status, invitation.declined_at = Status.DECLINED, timezone.now()
    invitation.save(update_fields=["status", "declined_at"])
