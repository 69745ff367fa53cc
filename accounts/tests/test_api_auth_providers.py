"""GET auth/providers."""

import pytest

pytestmark = pytest.mark.django_db


def test_api_auth_providers_public_local_only(api_client, settings):
    settings.OIDC_ENABLED = False
    settings.OIDC_ISSUER = ""
    response = api_client.get("/api/v1/auth/providers")
    assert response.status_code == 200
    body = response.json()
    assert body["local"] == {"enabled": True, "signup_enabled": True, "email_confirmation": True}
    assert body["oidc"]["enabled"] is False
    assert body["oidc"]["desktop_redirect_uri"] == "mdcreator://auth/callback"


def test_api_auth_providers_reflects_settings(api_client, settings):
    settings.ACCOUNTS_SIGNUP_ENABLED = False
    settings.ACCOUNTS_EMAIL_CONFIRMATION = False
    body = api_client.get("/api/v1/auth/providers").json()
    assert body["local"]["signup_enabled"] is False and body["local"]["email_confirmation"] is False
