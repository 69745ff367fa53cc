"""OIDC bearer tokens (SPEC §3.1): discovery, the provider's key set, verification, provisioning.

The provider is the one named by `OIDC_ISSUER` (Cognito in production). Its
discovery document and JWKS are cached in Django's cache, so every process
behind the same Redis shares one copy and one refetch.
"""

from __future__ import annotations

import hashlib
import logging

import jwt
import requests
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError

from accounts.models import User
from accounts.services.oidc import oidc_user_provision
from accounts.tokens import unverified_issuer
from mdcreator.errors import EmailTakenError, InvalidTokenError, ServiceUnavailableError

logger = logging.getLogger(__name__)

DISCOVERY_CACHE_SECONDS = 3600
KID_REFETCH_INTERVAL_SECONDS = 60
RETRY_AFTER_SECONDS = 30
MAX_IDENTITY_LENGTH = User._meta.get_field("oidc_sub").max_length
MAX_EMAIL_LENGTH = User._meta.get_field("email").max_length
# Asymmetric signatures only: HS* would let anyone holding the client secret mint tokens.
ACCEPTED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})


def _cache_key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\n".join((settings.OIDC_ISSUER, *parts)).encode("utf-8")).hexdigest()[:40]
    return f"oidc:{kind}:{digest}"


def _unavailable(
    detail: str = "The identity provider cannot be reached; try again shortly.",
) -> ServiceUnavailableError:
    return ServiceUnavailableError(detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _fetch_json(url: str) -> dict:
    """GET a JSON object from the provider; an unreachable or broken provider is a 503."""
    try:
        response = requests.get(url, timeout=settings.OIDC_HTTP_TIMEOUT)
        response.raise_for_status()
        body = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("OIDC provider request to %s failed: %s", url, exc)
        raise _unavailable() from None
    if not isinstance(body, dict):
        raise _unavailable("The identity provider answered with something that is not a JSON object.")
    return body


def discovery_document() -> dict:
    """The issuer's OpenID configuration, cached for an hour; 503 if the provider cannot be reached."""
    key = _cache_key("discovery")
    document = cache.get(key)
    if document is None:
        document = _fetch_json(f"{settings.OIDC_ISSUER}/.well-known/openid-configuration")
        if document.get("issuer") != settings.OIDC_ISSUER:
            raise _unavailable("The identity provider's discovery document names another issuer.")
        cache.set(key, document, DISCOVERY_CACHE_SECONDS)
    return document


def provider_endpoint(name: str) -> str:
    """One endpoint URL of the discovery document (`token_endpoint`, `jwks_uri`, ...); 503 if absent."""
    url = discovery_document().get(name)
    if not isinstance(url, str) or not url:
        raise _unavailable(f"The identity provider does not publish a {name}.")
    return url


def clear_provider_cache() -> None:
    """Forget the cached discovery document, key set and outage marker of the configured issuer."""
    cache.delete_many([_cache_key("discovery"), _cache_key("jwks"), _cache_key("discovery-failed")])


def _key_set(*, refresh: bool = False) -> dict:
    key = _cache_key("jwks")
    jwks = None if refresh else cache.get(key)
    if jwks is None:
        jwks = _fetch_json(provider_endpoint("jwks_uri"))
        cache.set(key, jwks, settings.OIDC_JWKS_CACHE_SECONDS)
    return jwks


def _find_key(jwks: dict, kid: str) -> jwt.PyJWK | None:
    try:
        keys = jwt.PyJWKSet.from_dict(jwks).keys
    except jwt.PyJWTError:
        return None
    for candidate in keys:
        if (
            candidate.key_id == kid
            and candidate.algorithm_name in ACCEPTED_ALGORITHMS
            and candidate.public_key_use in (None, "sig")
        ):
            return candidate
    return None


def _signing_key(kid: str) -> jwt.PyJWK:
    """The provider's key `kid`, refetching the key set once when it is unknown."""
    key = _find_key(_key_set(), kid)
    # An unknown kid usually means the provider rotated its keys. The cache.add
    # guard keeps a flood of made-up kids from becoming a flood of JWKS requests.
    kid_digest = hashlib.sha256(kid.encode("utf-8", "surrogatepass")).hexdigest()
    if key is None and cache.add(_cache_key("kid-refetch", kid_digest), True, KID_REFETCH_INTERVAL_SECONDS):
        key = _find_key(_key_set(refresh=True), kid)
    if key is None:
        raise InvalidTokenError("The token was signed with a key the identity provider does not publish.")
    return key


def audience_is_accepted(claims: dict) -> bool:
    """Whether the token was issued for this application (SPEC §3.1 audience rule)."""
    client_id = settings.OIDC_RP_CLIENT_ID
    if not client_id:
        return False
    audience = claims.get("aud")
    if audience is None:
        # Cognito access tokens carry no aud; they name the app client in client_id.
        return claims.get("client_id") == client_id and claims.get("token_use") == "access"
    audiences = [audience] if isinstance(audience, str) else audience
    return isinstance(audiences, list) and client_id in audiences


def verify_oidc_token(token: str) -> dict:
    """Verify an ID or access token of the configured provider and return its claims; 401 otherwise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise InvalidTokenError("The bearer token is not a well-formed JWT.") from None
    kid = header.get("kid")
    if header.get("alg") not in ACCEPTED_ALGORITHMS or not isinstance(kid, str):
        raise InvalidTokenError("The token is not signed with an accepted algorithm and key id.")
    if unverified_issuer(token) != settings.OIDC_ISSUER:
        raise InvalidTokenError("The token was not issued by the configured identity provider.")
    key = _signing_key(kid)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[key.algorithm_name],
            issuer=settings.OIDC_ISSUER,
            leeway=settings.OIDC_LEEWAY_SECONDS,
            options={"verify_aud": False, "require": ["iss", "sub", "exp"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidTokenError("The identity provider's token has expired.") from None
    except jwt.PyJWTError:
        raise InvalidTokenError("The token's signature, issuer or validity period is wrong.") from None
    if not isinstance(claims.get("sub"), str) or not 0 < len(claims["sub"]) <= MAX_IDENTITY_LENGTH:
        raise InvalidTokenError("The token names no usable subject.")
    if not audience_is_accepted(claims):
        raise InvalidTokenError("The token was not issued for this application.")
    return claims


def _userinfo(token: str, sub: str) -> dict:
    """Ask the provider's userinfo endpoint, once, for the profile a token leaves out."""
    url = provider_endpoint("userinfo_endpoint")
    try:
        response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=settings.OIDC_HTTP_TIMEOUT)
    except requests.RequestException as exc:
        logger.warning("OIDC userinfo request failed: %s", exc)
        raise _unavailable() from None
    if response.status_code >= 500:
        raise _unavailable()
    try:
        profile = response.json() if response.status_code == 200 else None
    except ValueError:
        profile = None
    # OIDC Core 5.3.2: a userinfo answer about another subject must not be used.
    if not isinstance(profile, dict) or profile.get("sub") != sub:
        raise InvalidTokenError("The identity provider would not describe the user of this token.")
    return profile


def _is_verified(value) -> bool:
    # Cognito's userinfo endpoint renders booleans as the strings "true"/"false".
    return value is True or value == "true"


def _user_by_identity(issuer: str, sub: str) -> User | None:
    return User.objects.filter(oidc_issuer=issuer, oidc_sub=sub).first()


def user_from_claims(claims: dict) -> User:
    """The account for verified provider claims that carry the profile (`email`...), made on first sight."""
    issuer, sub = claims["iss"], claims["sub"]
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > MAX_EMAIL_LENGTH:
        raise InvalidTokenError("The identity provider did not share an email address for this user.")
    name = claims.get("name")
    try:
        return oidc_user_provision(
            issuer=issuer,
            sub=sub,
            email=email,
            email_verified=_is_verified(claims.get("email_verified")),
            name=name if isinstance(name, str) else "",
        )
    except (IntegrityError, EmailTakenError):
        # A concurrent first request for the same identity created the account first.
        user = _user_by_identity(issuer, sub)
        if user is None:
            raise
        return user


def authenticate_oidc_token(token: str) -> tuple[User, dict]:
    """Verify a provider token and return (user, claims), provisioning the user on first sight."""
    claims = verify_oidc_token(token)
    user = _user_by_identity(claims["iss"], claims["sub"])
    if user is None:
        if not claims.get("email"):
            claims = {**claims, **_userinfo(token, claims["sub"]), "iss": claims["iss"]}
        user = user_from_claims(claims)
    if not user.is_active or user.deleted_at is not None:
        raise InvalidTokenError("This account has been deactivated.")
    return user, claims


def _published_endpoints() -> dict:
    if not settings.OIDC_ENABLED:
        return {}
    # A public endpoint every client calls at start: while the provider is down,
    # answer at once instead of waiting for a timeout on each call.
    outage_key = _cache_key("discovery-failed")
    if cache.get(outage_key):
        return {}
    try:
        return discovery_document()
    except ServiceUnavailableError:
        cache.set(outage_key, True, RETRY_AFTER_SECONDS)
        return {}


def provider_summary() -> dict:
    """The `oidc` block of `GET auth/providers`; endpoints are null when discovery fails."""
    document = _published_endpoints()
    return {
        "enabled": settings.OIDC_ENABLED,
        "issuer": settings.OIDC_ISSUER or None,
        "client_id": settings.OIDC_RP_CLIENT_ID or None,
        "authorization_endpoint": document.get("authorization_endpoint"),
        "token_endpoint": document.get("token_endpoint"),
        "scopes": settings.OIDC_RP_SCOPES.split(),
        "desktop_redirect_uri": settings.OIDC_DESKTOP_REDIRECT_URI,
    }
