"""The Django admin's browser sign-in through the identity provider (mozilla-django-oidc).

mozilla-django-oidc reads the provider's endpoints from static settings; here
they come from the issuer's discovery document when a sign-in runs, ID tokens
are verified like bearer tokens (accounts.oidc), and accounts are provisioned
the same way. Staff status comes from the groups claim (SPEC §3.1).
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.oidc import provider_endpoint, user_from_claims, verify_oidc_token
from accounts.services.staff import staff_grant
from mdcreator.errors import ProblemError

logger = logging.getLogger(__name__)

SSO_FAILED = "Single sign-on did not complete. Try again, or sign in with your email and password."
SSO_OFF = "Single sign-on is not configured on this server."


def sso_context(request) -> dict:
    """Template context processor: whether the admin login page offers "Sign in with SSO"."""
    return {"oidc_admin_login_enabled": settings.OIDC_ENABLED}


def _back_to_login(request, message: str) -> HttpResponseRedirect:
    messages.error(request, message)
    return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))


class AdminOIDCAuthenticationRequestView(OIDCAuthenticationRequestView):
    """`/oidc/authenticate/`: redirect to the authorization endpoint named by discovery."""

    def get(self, request):
        """Start a sign-in, or go back to the login page when the provider is off or unreachable."""
        if not settings.OIDC_ENABLED:
            return _back_to_login(request, SSO_OFF)
        try:
            self.OIDC_OP_AUTH_ENDPOINT = provider_endpoint("authorization_endpoint")
        except ProblemError as exc:
            return _back_to_login(request, exc.detail)
        return super().get(request)


class AdminOIDCAuthenticationCallbackView(OIDCAuthenticationCallbackView):
    """`/oidc/callback/`: sign in and go to the admin, or back to its login page with the reason."""

    @property
    def failure_url(self) -> str:
        """The admin login page."""
        return resolve_url(settings.LOGIN_URL)

    def login_failure(self):
        """Back to the login page with the reason the sign-in failed."""
        messages.error(self.request, getattr(self.request, "oidc_failure", None) or SSO_FAILED)
        return super().login_failure()


def _in_staff_group(claims: dict) -> bool:
    group = settings.OIDC_STAFF_GROUP
    groups = claims.get(settings.OIDC_GROUPS_CLAIM)
    if not group or groups is None:
        return False
    return group in groups if isinstance(groups, list) else groups == group


class AdminOIDCAuthenticationBackend(OIDCAuthenticationBackend):
    """Authorization-code sign-in: endpoints from discovery, accounts from `user_from_claims`."""

    def authenticate(self, request, **kwargs):
        """Finish a sign-in from the provider's callback (`code`, `state`); None for any other login."""
        if request is None or not settings.OIDC_ENABLED:
            return None
        if not (request.GET.get("code") and request.GET.get("state")):
            return None
        try:
            self.OIDC_OP_TOKEN_ENDPOINT = provider_endpoint("token_endpoint")
            self.OIDC_OP_USER_ENDPOINT = provider_endpoint("userinfo_endpoint")
            self.OIDC_OP_JWKS_ENDPOINT = provider_endpoint("jwks_uri")
            return super().authenticate(request, **kwargs)
        except ProblemError as exc:
            # Kept for the callback view, which tells the person why (e.g. sign in with the password).
            request.oidc_failure = exc.detail
        except (SuspiciousOperation, requests.RequestException) as exc:
            logger.warning("Admin single sign-on failed: %s", exc)
        return None

    def get_user(self, user_id):
        """The signed-in user of an admin session, unless deactivated or erased since."""
        user = super().get_user(user_id)
        return user if user is not None and user.is_active and user.deleted_at is None else None

    def verify_token(self, token, **kwargs):
        """Verify an ID token like a bearer token (signature, issuer, expiry, audience), then its nonce."""
        claims = verify_oidc_token(token)
        if self.get_settings("OIDC_USE_NONCE", True) and kwargs.get("nonce") != claims.get("nonce"):
            raise SuspiciousOperation("The ID token's nonce does not match this sign-in.")
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        """The account of the ID token's subject; staff is granted (never removed) from the groups claim."""
        userinfo = self.get_userinfo(access_token, id_token, payload)
        # OIDC Core 5.3.2: a userinfo answer about another subject must not be used.
        if userinfo.get("sub") != payload["sub"]:
            raise SuspiciousOperation("The userinfo answer is about another subject.")
        claims = {**payload, **userinfo, "iss": payload["iss"]}
        user = user_from_claims(claims)
        if _in_staff_group(claims):
            staff_grant(user=user)
        return user
