"""Local access tokens (HS256 JWT) and opaque refresh tokens (SPEC §3.1)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone

import jwt
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from mdcreator.errors import InvalidTokenError, TokenExpiredError

# Public markers, not secrets: every refresh token starts with REFRESH_PREFIX; access JWTs carry typ=ACCESS_TYP.
REFRESH_PREFIX = "mdr_"
ACCESS_TYP = "access"


def sha256_hex(value: str) -> str:
    """Hex sha256 of a token's UTF-8 bytes; what the database stores instead of the token."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _sealing_key(token: str) -> Fernet:
    # Derived from the presented token alone, which the server never stores: only its holder can unseal.
    digest = hashlib.sha256(b"mdcreator-refresh-successor\x00" + token.encode("utf-8", "surrogatepass")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal_successor(token: str, successor: str) -> str:
    """The successor of a rotated refresh token, encrypted under a key only `token` yields."""
    return _sealing_key(token).encrypt(successor.encode("ascii")).decode("ascii")


def unseal_successor(token: str, sealed: str) -> str | None:
    """The successor sealed by `seal_successor(token, ...)`; None when `sealed` is not that."""
    try:
        return _sealing_key(token).decrypt(sealed.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError):
        return None


def new_refresh_token() -> str:
    """32 random bytes, base64url without padding, behind the `mdr_` prefix."""
    raw = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
    return REFRESH_PREFIX + raw


@dataclass(frozen=True)
class AccessClaims:
    """The verified claims of a local access token."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime
    token_id: str


def issue_access_token(*, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime) -> tuple[str, int]:
    """Sign an access token for `user_id` in refresh family `session_id`; returns (jwt, expires_in)."""
    lifetime = int(settings.ACCESS_TOKEN_LIFETIME.total_seconds())
    issued = int(now.timestamp())
    claims = {
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "sub": str(user_id),
        "sid": str(session_id),
        "iat": issued,
        "exp": issued + lifetime,
        "jti": uuid.uuid4().hex,
        "typ": ACCESS_TYP,
    }
    return jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm="HS256"), lifetime


def unverified_issuer(token: str) -> str | None:
    """The `iss` claim before any verification, used only to pick the verifier."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise InvalidTokenError("The bearer token is not a well-formed JWT.") from None
    issuer = claims.get("iss") if isinstance(claims, dict) else None
    return issuer if isinstance(issuer, str) else None


def decode_access_token(token: str) -> AccessClaims:
    """Verify signature, issuer, audience, expiry and type of a local access token."""
    try:
        claims = jwt.decode(
            token,
            settings.JWT_SIGNING_KEY,
            algorithms=["HS256"],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            options={"require": ["exp", "iat", "sub", "sid", "jti", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpiredError("The access token has expired; refresh it.") from None
    except jwt.PyJWTError:
        raise InvalidTokenError("The access token is invalid.") from None
    if claims.get("typ") != ACCESS_TYP:
        raise InvalidTokenError("The token is not an access token.")
    try:
        user_id = uuid.UUID(str(claims["sub"]))
        session_id = uuid.UUID(str(claims["sid"]))
    except ValueError:
        raise InvalidTokenError("The access token is invalid.") from None
    return AccessClaims(
        user_id=user_id,
        session_id=session_id,
        expires_at=datetime.fromtimestamp(claims["exp"], tz=timezone.utc),
        token_id=str(claims["jti"]),
    )
