"""Document grants: give, change and revoke, mirrored into django-guardian in the same transaction (SPEC §3.4)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from documents.errors import AlreadyHasAccessError
from documents.models import Document, DocumentShare, DocumentUserObjectPermission
from documents.sharing import ROLE_PERMISSIONS
from mdcreator.errors import NotFoundError, ValidationProblem
from mdcreator.events import broadcast_on_commit, user_group
from mdcreator.validation import first_or_404
from workspaces.access import active_memberships
from workspaces.errors import AlreadyMemberError, InvitationGoneError, InvitationPendingError
from workspaces.models import Invitation
from workspaces.services.invitations import invitations_expire_stale, issue_token, mail_link

Status = DocumentShare.Status


def _permissions(role: str) -> list[Permission]:
    return list(
        Permission.objects.filter(
            content_type__app_label="documents", content_type__model="document", codename__in=ROLE_PERMISSIONS[role]
        )
    )


def _mirror(share: DocumentShare) -> None:
    """Make guardian's permissions of (user, document) exactly those of the share's role, or none when revoked."""
    DocumentUserObjectPermission.objects.filter(user_id=share.user_id, content_object_id=share.document_id).delete()
    if share.status == Status.ACTIVE:
        DocumentUserObjectPermission.objects.bulk_create(
            DocumentUserObjectPermission(user_id=share.user_id, content_object_id=share.document_id, permission=p)
            for p in _permissions(share.role)
        )


def _access_changed(share: DocumentShare) -> None:
    """The grantee's live sockets re-check their access after commit (downgrade: read-only; revoke: closed)."""
    broadcast_on_commit(
        user_group(share.user_id), {"type": "access.changed", "document_id": str(share.document_id)}
    )


def _in_force(share: DocumentShare) -> bool:
    return share.status == Status.ACTIVE and (share.expires_at is None or share.expires_at > timezone.now())


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationProblem({"expires_at": ["Must be in the future."]})


def _recipient(*, email: str | None, user_id):
    """The account a grant is for (None: an email without an account); 400 for an unknown user id."""
    users = get_user_model().objects.filter(is_active=True, deleted_at__isnull=True)
    if user_id is not None:
        user = users.filter(pk=user_id).first()
        if user is None:
            raise ValidationProblem({"user_id": ["No such user."]})
        return user
    return users.filter(email__iexact=email).first()


@transaction.atomic
def share_create(
    *, actor, document: Document, role: str, email: str | None = None, user_id=None,
    expires_at: datetime | None = None, message: str = "",
) -> DocumentShare | Invitation:
    """Grant `document` to a person (a share), or invite an email without an account (a document invitation).

    Members of the workspace are refused (409 already-member), and so is a person already holding
    a grant in force (409 already-has-access, whatever the role: roles change with PATCH).
    """
    document = Document.objects.select_for_update(no_key=True).get(pk=document.pk)
    _check_expiry(expires_at)
    user = _recipient(email=email, user_id=user_id)
    if user is None:
        return _invite(actor=actor, document=document, email=email.strip().lower(), role=role,
                       expires_at=expires_at, message=message)
    if active_memberships(user).filter(workspace_id=document.workspace_id).exists():
        raise AlreadyMemberError("Members of the workspace already see its documents.")
    share = DocumentShare.objects.select_for_update().filter(document=document, user=user).first()
    if share is not None and _in_force(share):
        raise AlreadyHasAccessError()
    share = _grant(share or DocumentShare(document=document, user=user), role=role, granted_by_id=actor.pk,
                   expires_at=expires_at)
    _access_changed(share)
    return share


def _grant(share: DocumentShare, *, role: str, granted_by_id, expires_at) -> DocumentShare:
    """(Re)activate a grant, new or revoked or run out, with its role and expiry; guardian follows."""
    share.role, share.status, share.expires_at, share.granted_by_id = role, Status.ACTIVE, expires_at, granted_by_id
    share.granted_at = timezone.now()
    share.save()
    _mirror(share)
    return share


def _invite(*, actor, document: Document, email: str, role: str, expires_at, message: str) -> Invitation:
    invitations_expire_stale(workspace_id=document.workspace_id)  # a stale pending one gives way
    if Invitation.objects.filter(document=document, email=email, status=Invitation.Status.PENDING).exists():
        raise InvitationPendingError()
    invitation = Invitation(
        workspace_id=document.workspace_id, document=document, invited_by=actor, email=email, role=role,
        message=message, grant_expires_at=expires_at,
    )
    token = issue_token(invitation)
    invitation.save(force_insert=True)
    subject = f"{actor.display_name} shared \u201c{document.title}\u201d with you on MD Creator"
    mail_link(invitation, token, template="documents/email/share_invitation.txt", subject=subject, document=document)
    return invitation


@transaction.atomic
def share_update(*, share: DocumentShare, role: str | None = None, expires_at=...) -> DocumentShare:
    """Change a grant's role and/or expiry (`expires_at=None` removes it); guardian follows."""
    share = DocumentShare.objects.select_for_update(of=("self",)).select_related("user", "granted_by").get(pk=share.pk)
    if share.status != Status.ACTIVE:
        raise NotFoundError("No grant with this id.")
    if expires_at is not ...:
        _check_expiry(expires_at)
        share.expires_at = expires_at
    if role is not None:
        share.role = role
    share.save(update_fields=["role", "expires_at"])
    _mirror(share)
    _access_changed(share)
    return share


@transaction.atomic
def share_revoke(*, share: DocumentShare) -> None:
    """Revoke a grant: its guardian permissions go, the grantee's live sockets close."""
    share = DocumentShare.objects.select_for_update().get(pk=share.pk)
    if share.status == Status.REVOKED:
        return
    share.status = Status.REVOKED
    share.save(update_fields=["status"])
    _mirror(share)
    _access_changed(share)


@transaction.atomic
def share_accept_invitation(invitation: Invitation, user) -> str:
    """A document invitation accepted: the invitee gets the grant it promised; returns the role.

    Called by workspaces' invitation acceptance (through workspaces.contents) under its locks.
    A person who became a workspace member meanwhile needs no grant.
    """
    document = first_or_404(
        Document.objects.filter(pk=invitation.document_id, deleted=False), "The shared document no longer exists."
    )
    if active_memberships(user).filter(workspace_id=document.workspace_id).exists():
        return invitation.role
    share = DocumentShare.objects.select_for_update().filter(document=document, user=user).first()
    if share is not None and _in_force(share):
        return share.role
    if invitation.status == Invitation.Status.ACCEPTED:
        # Accepted before and the grant was revoked or ran out since: the invitation is spent, it does not
        # grant again (accepting twice is idempotent only while the grant it gave is in force).
        raise InvitationGoneError()
    share = _grant(share or DocumentShare(document=document, user=user), role=invitation.role,
                   granted_by_id=invitation.invited_by_id, expires_at=invitation.grant_expires_at)
    return share.role


@transaction.atomic
def shares_purge_expired(*, dry_run: bool = False) -> int:
    """Remove the guardian permissions of grants past their expiry (they already gave nothing); returns how many."""
    expired = DocumentShare.objects.filter(status=Status.ACTIVE, expires_at__lte=timezone.now())
    held = DocumentUserObjectPermission.objects.filter(
        Exists(expired.filter(user_id=OuterRef("user_id"), document_id=OuterRef("content_object_id")))
    )
    count = expired.filter(
        Exists(DocumentUserObjectPermission.objects.filter(user_id=OuterRef("user_id"),
                                                           content_object_id=OuterRef("document_id")))
    ).count()
    if not dry_run:
        held.delete()
    return count
