"""Bearer-token authentication shared by REST and the WebSocket consumers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication

from accounts.models import User
from accounts.oidc import authenticate_oidc_token
from accounts.services.sessions import session_is_live
from accounts.tokens import decode_access_token, unverified_issuer
from mdcreator.errors import InvalidTokenError
from mdcreator.ratelimit import Window, api_window
from mdcreator.sql import RowsOf

LAST_SEEN_RESOLUTION = timedelta(minutes=5)
# Every authenticated request reads its user: a constant statement skips building the query each time.
_LIVE_USER = RowsOf(User, "SELECT {columns} FROM {users} WHERE id = %s AND is_active AND deleted_at IS NULL", users=User)


@dataclass(frozen=True)
class TokenAuth:
    """How the caller authenticated: `source` is `local` or `oidc`; `session_id` is the refresh family."""

    source: str
    session_id: uuid.UUID | None = None
    claims: dict | None = None
    counted_hit: tuple[Window, int] | None = None  # the API rate limit's window and count, when already counted


def authenticate_token(token: str, *, count_api_hit: bool = False) -> tuple[User, TokenAuth]:
    """Verify a local or OIDC bearer token and return its user; raises a 401 problem.

    With `count_api_hit`, a local token's request is counted against the API rate limit in the same round
    trip to the cache as its session check (`TokenAuth.counted_hit`); a refused token's hit is taken back.
    """
    issuer = unverified_issuer(token)
    if issuer == settings.JWT_ISSUER:
        return _authenticate_local(token, count_api_hit)
    if settings.OIDC_ENABLED and issuer == settings.OIDC_ISSUER:
        user, claims = authenticate_oidc_token(token)
        _touch_last_seen(user)
        return user, TokenAuth(source="oidc", claims=claims)
    raise InvalidTokenError("The token was not issued by a trusted issuer.")


def _authenticate_local(token: str, count_api_hit: bool) -> tuple[User, TokenAuth]:
    claims = decode_access_token(token)
    window = api_window(claims.user_id) if count_api_hit else None
    live, count = session_is_live(claims.session_id, claims.user_id, counting=window)
    user = _LIVE_USER.first([User._meta.pk.get_db_prep_value(claims.user_id, connection)]) if live else None
    if user is None:
        if window is not None:
            cache.decr_window(window.key)
        raise InvalidTokenError("The session of this token has ended.")
    _touch_last_seen(user)
    counted = (window, count) if window is not None else None
    return user, TokenAuth(source="local", session_id=claims.session_id, counted_hit=counted)


def _touch_last_seen(user: User) -> None:
    """Record activity at most once per five minutes, without touching `updated_at`."""
    now = timezone.now()
    if user.last_seen_at is None or now - user.last_seen_at >= LAST_SEEN_RESOLUTION:
        User.objects.filter(pk=user.pk).update(last_seen_at=now)
        user.last_seen_at = now


class BearerTokenAuthentication(BaseAuthentication):
    """DRF authentication for `Authorization: Bearer <token>`."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise InvalidTokenError("The Authorization header must be 'Bearer <token>'.")
        return authenticate_token(token, count_api_hit=True)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
