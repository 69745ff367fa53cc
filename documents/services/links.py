"""Share links: create, revoke, resolve (SPEC §3.4, decision 13).

A link opens one document to whoever holds its token, in `view` or `comment` mode, while the
workspace allows guest access. Only the token's sha256 is kept. Resolving counts one use,
atomically, checks the password, and returns a session token: the value later requests send
as `X-Share-Token` (or `share_token` on sockets). A link without password or use limit also
accepts its own token there.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core import signing
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.tokens import sha256_hex
from collab import bridge
from documents.errors import InvalidPasswordError, PasswordRequiredError
from documents.models import Document, ShareLink
from documents.sharing import LINK_PREFIX, SESSION_SALT, guest_access_allowed, live_link
from mdcreator.errors import NotFoundError, PermissionDeniedError, ValidationProblem
from mdcreator.ratelimit import hit

DEFAULT_LIFETIME = timedelta(days=30)
MAX_LIFETIME = timedelta(days=365)


def _check_expiry(expires_at: datetime | None) -> datetime:
    now = timezone.now()
    if expires_at is None:
        return now + DEFAULT_LIFETIME
    if expires_at <= now:
        raise ValidationProblem({"expires_at": ["Must be in the future."]})
    if expires_at > now + MAX_LIFETIME:
        raise ValidationProblem({"expires_at": ["A link lives at most one year."]})
    return expires_at


@transaction.atomic
def link_create(
    *, actor, document: Document, mode: str, expires_at: datetime | None = None, max_uses: int | None = None,
    password: str | None = None,
) -> tuple[ShareLink, str]:
    """A new link; returns it with its one-time plaintext token (403 while the workspace refuses guests)."""
    if not guest_access_allowed(document):
        raise PermissionDeniedError("Guest access is off in this workspace's settings.")
    token = LINK_PREFIX + secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        document=document, created_by=actor, token_hash=sha256_hex(token), token_prefix=token[:8], mode=mode,
        password_hash=make_password(password) if password else "", max_uses=max_uses,
        expires_at=_check_expiry(expires_at),
    )
    return link, token


@transaction.atomic
def link_revoke(*, link: ShareLink) -> None:
    """Revoke a link: requests and sockets opened through it lose the document."""
    updated = ShareLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if updated:
        bridge.access_changed(document_id=link.document_id)


def link_resolve(*, token: str, password: str | None, client_key: str | None) -> tuple[ShareLink, str]:
    """Open a link: password checked (rate-limited), one use counted; returns the link and a session token."""
    link = live_link(token)
    if link.password_hash:
        if not password:
            raise PasswordRequiredError()
        hit("share-link-password", f"{client_key}|{link.pk}", settings.RATE_LIMIT_LOGIN)
        if not check_password(password, link.password_hash):
            raise InvalidPasswordError()
    counted = ShareLink.objects.filter(pk=link.pk).filter(Q(max_uses__isnull=True) | Q(uses_count__lt=F("max_uses")))
    if not counted.update(uses_count=F("uses_count") + 1):
        raise NotFoundError("This share link has been used up.")
    link.uses_count += 1
    return link, signing.dumps({"link": str(link.pk)}, salt=SESSION_SALT, compress=True)
