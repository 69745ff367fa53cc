"""Discovery, the provider's key set and its rotation, and `GET auth/providers` (SPEC §3.1)."""

import pytest

from accounts.models import User
from accounts.tests.helpers import problem_slug

pytestmark = pytest.mark.django_db

DISCOVERY = "/.well-known/openid-configuration"


def _me(client, token):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/v1/auth/me")


def test_oidc_providers_shows_discovered_endpoints(api_client, oidc_provider):
    response = api_client.get("/api/v1/auth/providers")

    assert response.status_code == 200
    assert response.json()["oidc"] == {
        "enabled": True,
        "issuer": oidc_provider.issuer,
        "client_id": oidc_provider.client_id,
        "authorization_endpoint": f"{oidc_provider.issuer}/auth",
        "token_endpoint": f"{oidc_provider.issuer}/token",
        "scopes": ["openid", "email", "profile"],
        "desktop_redirect_uri": "mdcreator://auth/callback",
    }


def test_oidc_providers_with_provider_down_has_null_endpoints(api_client, settings, disposable_provider):
    settings.OIDC_ISSUER = disposable_provider.issuer
    disposable_provider.stop()

    response = api_client.get("/api/v1/auth/providers")

    assert response.status_code == 200
    oidc = response.json()["oidc"]
    assert oidc["enabled"] is True and oidc["issuer"] == disposable_provider.issuer
    assert oidc["authorization_endpoint"] is None and oidc["token_endpoint"] is None


def test_oidc_discovery_and_keys_are_fetched_once_then_cached(api_client, oidc_provider, person):
    discovery, keys = oidc_provider.requests_to(DISCOVERY), oidc_provider.requests_to("/jwks")

    for token in (oidc_provider.sign_in(person)["access_token"], oidc_provider.sign_in(person)["id_token"]):
        assert _me(api_client, token).status_code == 200

    assert oidc_provider.requests_to(DISCOVERY) == discovery + 1
    assert oidc_provider.requests_to("/jwks") == keys + 1


def test_oidc_new_signing_key_is_fetched_once_after_provider_restart(api_client, oidc_provider, person):
    old_token = oidc_provider.sign_in(person)["access_token"]
    assert _me(api_client, old_token).status_code == 200

    oidc_provider.restart()
    new_token = oidc_provider.sign_in(person)["access_token"]
    response = _me(api_client, new_token)
    again = _me(api_client, new_token)

    assert response.status_code == again.status_code == 200
    assert oidc_provider.requests_to("/jwks") == 1
    assert oidc_provider.requests_to(DISCOVERY) == 0
    assert User.objects.filter(oidc_sub=person["sub"]).count() == 1
    retired = _me(api_client, old_token)
    assert retired.status_code == 401
    assert problem_slug(retired) == "invalid-token"


def test_oidc_provider_unreachable_is_503(api_client, settings, disposable_provider, person, stored_users):
    settings.OIDC_ISSUER = disposable_provider.issuer
    token = disposable_provider.sign_in(person)["access_token"]
    disposable_provider.stop()
    before = stored_users()

    response = _me(api_client, token)

    assert response.status_code == 503
    assert problem_slug(response) == "service-unavailable"
    assert int(response["Retry-After"]) > 0
    assert stored_users() == before
