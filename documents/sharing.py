"""Reads of document grants: the `grant` source of the resolver, shared-with-me, and grants in search (SPEC §2.4).

A grant is a `DocumentShare` row (role, expiry, status) mirrored into django-guardian's
direct foreign-key permissions (`DocumentUserObjectPermission`). Checks and lists read
guardian's table joined with the share's expiry, so an expired grant gives nothing even
before `purge_expired` removes its permissions.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.tokens import sha256_hex
from documents.models import Document, DocumentShare, DocumentUserObjectPermission, ShareLink
from mdcreator.errors import NotFoundError
from mdcreator.validation import first_or_404
from workspaces.abilities import Kind, Source
from workspaces.access import Access
from workspaces.roles import CAN_COMMENT, CAN_CREATE, CAN_DELETE, CAN_EDIT, CAN_INVITE, CAN_MANAGE

Role = DocumentShare.Role
VIEW, COMMENT, CHANGE = "view_document", "comment_document", "change_document"
# The guardian permissions each grant role holds.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    Role.VIEWER: (VIEW,),
    Role.COMMENTER: (VIEW, COMMENT),
    Role.EDITOR: (VIEW, COMMENT, CHANGE),
}
LINK_PREFIX = "mds_"  # every share-link token starts with it (public, not a secret)
SESSION_SALT = "documents.share-link.session"
SESSION_MAX_AGE = int(timedelta(days=7).total_seconds())
_NO_FLAGS = dict.fromkeys((CAN_CREATE, CAN_EDIT, CAN_DELETE, CAN_COMMENT, CAN_INVITE, CAN_MANAGE), False)


def grant_flags(role: str) -> dict[str, bool]:
    """The flags a grant role confers on its document: edit for editors, comment for editors and commenters."""
    return {**_NO_FLAGS, CAN_EDIT: role == Role.EDITOR, CAN_COMMENT: role in (Role.EDITOR, Role.COMMENTER)}


def live_shares() -> QuerySet[DocumentShare]:
    """Grants in force: active and not expired."""
    return DocumentShare.objects.filter(status=DocumentShare.Status.ACTIVE).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )


def _role_from(codenames: set[str]) -> str | None:
    for role in (Role.EDITOR, Role.COMMENTER, Role.VIEWER):
        if set(ROLE_PERMISSIONS[role]) <= codenames:
            return role
    return None


def grant_access(user, document, share_token: str | None = None) -> Access | None:
    """The `grant` source: the caller's guardian permissions on the document while its grant is in force.

    One query: guardian's direct foreign-key table, joined with the grant's status and expiry.
    """
    if user is None or not user.is_authenticated:
        return None
    in_force = live_shares().filter(document_id=document.pk, user_id=user.pk)
    codenames = set(
        DocumentUserObjectPermission.objects.filter(user_id=user.pk, content_object_id=document.pk)
        .filter(Exists(in_force))
        .values_list("permission__codename", flat=True)
    )
    role = _role_from(codenames)
    if role is None:
        return None
    return Access(role=role, flags=grant_flags(role), source=Source.GRANT, kind=Kind.DOCUMENT)


def granted_documents(user) -> QuerySet[Document]:
    """Live documents the caller may view through a grant in force (guardian's view permission)."""
    viewable = DocumentUserObjectPermission.objects.filter(
        user_id=user.pk, content_object_id=OuterRef("pk"), permission__codename=VIEW
    )
    # The grant is joined (one row per document: a person holds one grant of a document), so callers can
    # read its role and date through `shares__` without looking it up again.
    in_force = Q(shares__user_id=user.pk, shares__status=DocumentShare.Status.ACTIVE) & (
        Q(shares__expires_at__isnull=True) | Q(shares__expires_at__gt=timezone.now())
    )
    return Document.objects.filter(deleted=False, workspace__deleted_at__isnull=True).filter(in_force, Exists(viewable))


def link_access(user, document, share_token: str | None = None) -> Access | None:
    """The `link` source: a share link's token for this very document, in view or comment mode.

    Commenting through a link needs a signed-in caller (decision 13); anyone else only reads.
    """
    if not share_token:
        return None
    link = link_from_share_token(share_token)
    if link is None or link.document_id != document.pk:
        return None
    signed_in = user is not None and user.is_authenticated
    role = Role.COMMENTER if link.mode == ShareLink.Mode.COMMENT and signed_in else Role.VIEWER
    return Access(role=role, flags=grant_flags(role), source=Source.LINK, kind=Kind.DOCUMENT)


def share_link_url(token: str) -> str:
    """Where a share link's token opens its document in the web app."""
    return f"{settings.FRONTEND_URL}/share/{token}"


def guest_access_allowed(document: Document) -> bool:
    """Share links need the workspace's `allow_guest_access` (SPEC §2.3)."""
    return bool((document.workspace.settings or {}).get("allow_guest_access"))


def _live_links() -> QuerySet[ShareLink]:
    """Links that open their document: not revoked, not expired, in a live workspace that allows guests."""
    return ShareLink.objects.select_related("document__workspace").filter(
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
        document__deleted=False,
        document__workspace__deleted_at__isnull=True,
        document__workspace__settings__allow_guest_access=True,
    )


def live_link(token: str) -> ShareLink:
    """The live link behind a plaintext token (not revoked, not expired, guests allowed); 404 otherwise."""
    return first_or_404(_live_links().filter(token_hash=sha256_hex(token)), "No share link with this token.")


def link_from_share_token(share_token: str) -> ShareLink | None:
    """The live link a request's `X-Share-Token` stands for: a session token, or an open link's own token.

    A link's own token stands for it only when the link has neither password nor use limit: those
    are enforced when resolving, which hands out the session token.
    """
    if share_token.startswith(LINK_PREFIX):
        try:
            link = live_link(share_token)
        except NotFoundError:
            return None
        return link if not link.password_hash and link.max_uses is None else None
    try:
        payload = signing.loads(share_token, salt=SESSION_SALT, max_age=SESSION_MAX_AGE)
    except signing.BadSignature:
        return None
    return _live_links().filter(pk=payload.get("link")).first() if isinstance(payload, dict) else None
