"""Sessions: login, refresh-token rotation with reuse detection, logout (SPEC §3.1)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import RefreshToken, User
from accounts.tokens import issue_access_token, new_refresh_token, seal_successor, sha256_hex, unseal_successor
from mdcreator import errors
from mdcreator.ratelimit import Window, hit

REFRESH_RATE = "60/minute"

_FAMILY_CACHE_KEY = "rt-family-owner:{}"


@dataclass(frozen=True)
class ClientInfo:
    """Where a login or refresh came from, recorded on the refresh token."""

    user_agent: str = ""
    ip: str | None = None
    device_id: str | None = None


@dataclass(frozen=True)
class TokenPair:
    """What login and refresh hand back to the client."""

    access_token: str
    refresh_token: str
    expires_in: int
    session_id: uuid.UUID

    def as_dict(self) -> dict:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }


def _store_refresh_token(*, user: User, family_id: uuid.UUID, family_started_at, parent, client: ClientInfo) -> str:
    now = timezone.now()
    token = new_refresh_token()
    family_end = family_started_at + settings.REFRESH_FAMILY_LIFETIME
    RefreshToken.objects.create(
        user=user,
        family_id=family_id,
        family_started_at=family_started_at,
        token_hash=sha256_hex(token),
        parent=parent,
        created_at=now,
        expires_at=min(now + settings.REFRESH_TOKEN_LIFETIME, family_end),
        user_agent=(client.user_agent or "")[:255],
        ip=client.ip,
        device_id=(client.device_id or None),
    )
    return token


@transaction.atomic
def session_start(*, user: User, client: ClientInfo) -> TokenPair:
    """Open a new refresh family for `user` and return its first token pair."""
    now = timezone.now()
    family_id = uuid.uuid4()
    refresh = _store_refresh_token(user=user, family_id=family_id, family_started_at=now, parent=None, client=client)
    access, expires_in = issue_access_token(user_id=user.pk, session_id=family_id, now=now)
    User.objects.filter(pk=user.pk).update(last_login=now, last_seen_at=now)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=expires_in, session_id=family_id)


def session_login(*, email: str, password: str, client: ClientInfo) -> tuple[User, TokenPair]:
    """Check the credentials of a local account and start a session.

    Raises invalid-credentials for unknown emails, wrong passwords and
    accounts without a password (OIDC only); the account's state is only
    revealed once the password is right.
    """
    user = User.objects.filter(email=email.strip().lower(), deleted_at__isnull=True).first()
    if user is None or not user.has_usable_password():
        # Hash once anyway so unknown emails cost as much time as wrong passwords.
        User().set_password(password)
        raise errors.InvalidCredentialsError()
    if not user.check_password(password):
        raise errors.InvalidCredentialsError()
    if not user.is_active:
        raise errors.AccountInactiveError()
    if settings.ACCOUNTS_EMAIL_CONFIRMATION and not user.email_verified:
        raise errors.EmailNotVerifiedError()
    return user, session_start(user=user, client=client)


def session_refresh(*, refresh_token: str, client: ClientInfo) -> TokenPair:
    """Rotate a refresh token: the presented one is spent, a child is issued.

    A token rotated less than REFRESH_REUSE_GRACE ago (a concurrent tab sharing
    the stored token) gets the child already issued for it and a fresh access
    token, and nothing is revoked; an older rotated token is a replay: its whole
    family is revoked, and that revocation commits even though the caller gets
    an error.
    """
    outcome = _rotate(refresh_token=refresh_token, client=client)
    if isinstance(outcome, errors.ProblemError):
        raise outcome
    return outcome


@transaction.atomic
def _rotate(*, refresh_token: str, client: ClientInfo) -> TokenPair | errors.ProblemError:
    now = timezone.now()
    current = (
        RefreshToken.objects.select_for_update(of=("self",))  # the token row only, not its user's
        .select_related("user")
        .filter(token_hash=sha256_hex(refresh_token))
        .first()
    )
    if current is None or current.revoked_at is not None:
        return errors.InvalidTokenError("The refresh token is invalid or has been revoked.")
    hit("refresh", str(current.family_id), REFRESH_RATE)
    if current.expires_at <= now:
        return errors.InvalidTokenError("The refresh token has expired; sign in again.")
    user = current.user
    if not user.is_active or user.deleted_at is not None:
        return errors.InvalidTokenError("The refresh token is invalid or has been revoked.")
    if current.rotated_at is not None:
        if now - current.rotated_at <= settings.REFRESH_REUSE_GRACE:
            return _successor_pair(current, refresh_token, now)
        _revoke(RefreshToken.objects.filter(family_id=current.family_id), reason=RefreshToken.RevokeReason.REUSE)
        return errors.RefreshTokenReusedError()
    refresh = _store_refresh_token(
        user=user,
        family_id=current.family_id,
        family_started_at=current.family_started_at,
        parent=current,
        client=ClientInfo(
            user_agent=client.user_agent or current.user_agent,
            ip=client.ip or current.ip,
            device_id=client.device_id or current.device_id,
        ),
    )
    current.rotated_at, current.successor_sealed = now, seal_successor(refresh_token, refresh)
    current.save(update_fields=["rotated_at", "successor_sealed"])
    access, expires_in = issue_access_token(user_id=user.pk, session_id=current.family_id, now=now)
    User.objects.filter(pk=user.pk).update(last_seen_at=now)
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=expires_in, session_id=current.family_id)


def _successor_pair(current: RefreshToken, presented: str, now) -> TokenPair | errors.ProblemError:
    """Within the grace: the child issued when `current` rotated, with a fresh access token (SPEC decision 37).
    The child may have rotated meanwhile too (a third tab): a client presenting it is again in its grace."""
    successor = unseal_successor(presented, current.successor_sealed)
    child = RefreshToken.objects.filter(token_hash=sha256_hex(successor)).first() if successor else None
    if child is None or child.revoked_at is not None or child.expires_at <= now:
        return errors.InvalidTokenError("The refresh token is invalid or has been revoked.")
    access, expires_in = issue_access_token(user_id=current.user_id, session_id=current.family_id, now=now)
    return TokenPair(access_token=access, refresh_token=successor, expires_in=expires_in, session_id=current.family_id)


def _revoke(tokens, *, reason: str) -> int:
    """Revoke the still-live tokens of a queryset and forget cached family states."""
    now = timezone.now()
    families = set(tokens.filter(revoked_at__isnull=True).values_list("family_id", flat=True).distinct())
    count = tokens.filter(revoked_at__isnull=True).update(revoked_at=now, revoke_reason=reason)
    if families:
        keys = [_FAMILY_CACHE_KEY.format(family) for family in families]
        transaction.on_commit(lambda: cache.set_many({key: "" for key in keys}, settings.FAMILY_REVOCATION_CACHE_SECONDS))
    return count


@transaction.atomic
def session_family_revoke(*, family_id: uuid.UUID, reason: str, user: User | None = None) -> int:
    """Revoke every token of one family (optionally only if it belongs to `user`)."""
    tokens = RefreshToken.objects.filter(family_id=family_id)
    if user is not None:
        tokens = tokens.filter(user=user)
    return _revoke(tokens, reason=reason)


@transaction.atomic
def sessions_revoke_all(*, user: User, reason: str, keep_family_id: uuid.UUID | None = None) -> int:
    """Revoke every family of `user`, except `keep_family_id` when given."""
    tokens = RefreshToken.objects.filter(user=user)
    if keep_family_id is not None:
        tokens = tokens.exclude(family_id=keep_family_id)
    return _revoke(tokens, reason=reason)


def session_logout(
    *, user: User, refresh_token: str | None, session_id: uuid.UUID | None, all_devices: bool
) -> None:
    """Sign out one family (that of `refresh_token`, else the caller's) or every device."""
    reason = RefreshToken.RevokeReason.LOGOUT
    if all_devices:
        sessions_revoke_all(user=user, reason=reason)
        return
    if refresh_token:
        family_id = (
            RefreshToken.objects.filter(token_hash=sha256_hex(refresh_token), user=user)
            .values_list("family_id", flat=True)
            .first()
        )
        if family_id is not None:
            session_family_revoke(family_id=family_id, reason=reason, user=user)
            return
    if session_id is not None:
        session_family_revoke(family_id=session_id, reason=reason, user=user)


def session_is_live(session_id: uuid.UUID, user_id, *, counting: Window | None = None) -> tuple[bool, int | None]:
    """Whether the refresh family behind an access token exists, belongs to `user_id` and is not revoked;
    with `counting`, one hit is also counted in that rate-limit window, in the same round trip to the cache.
    Returns (live, the window's count or None).

    A made-up `sid` has no rows and is therefore not live. The family's state is cached for 30 s as
    its owner's id ("" once revoked or missing); revocation overwrites the entry after commit.
    """
    key = _FAMILY_CACHE_KEY.format(session_id)
    count = None
    if counting is None:
        owner = cache.get(key)
    else:
        owner, count = cache.get_and_incr_window(key, counting.key, counting.timeout)
    if owner is None:
        owners = list(
            RefreshToken.objects.filter(family_id=session_id)
            .values("user_id")
            .annotate(revoked=Count("pk", filter=Q(revoked_at__isnull=False)))[:2]
        )
        live = len(owners) == 1 and owners[0]["revoked"] == 0
        owner = str(owners[0]["user_id"]) if live else ""
        cache.set(key, owner, settings.FAMILY_REVOCATION_CACHE_SECONDS)
    return owner != "" and owner == str(user_id), count
