"""OIDC: provider discovery (bearer-token verification and provisioning come next)."""

from __future__ import annotations

from django.conf import settings


def provider_summary() -> dict:
    """The `oidc` block of `GET auth/providers`."""
    return {
        "enabled": settings.OIDC_ENABLED,
        "issuer": settings.OIDC_ISSUER or None,
        "client_id": settings.OIDC_RP_CLIENT_ID or None,
        "authorization_endpoint": None,
        "token_endpoint": None,
        "scopes": settings.OIDC_RP_SCOPES.split(),
        "desktop_redirect_uri": settings.OIDC_DESKTOP_REDIRECT_URI,
    }
