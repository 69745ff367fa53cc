"""Local-account endpoints for people who sign in through the provider (SPEC §3.1)."""

import pytest

from accounts.models import RefreshToken, User
from accounts.tests.helpers import problem_slug

pytestmark = pytest.mark.django_db


@pytest.fixture
def oidc_client(api_client, oidc_provider, person):
    """An API client carrying a provider access token of `person`, already provisioned."""
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {oidc_provider.sign_in(person)['access_token']}")
    assert api_client.get("/api/v1/auth/me").status_code == 200
    api_client.user = User.objects.get(oidc_sub=person["sub"])
    return api_client


@pytest.mark.parametrize("password", ["Correct-Horse-9", "anything"])
def test_oidc_user_password_login_is_401_invalid_credentials(oidc_client, person, password):
    oidc_client.credentials()

    response = oidc_client.post("/api/v1/auth/login", {"email": person["email"], "password": password}, format="json")

    assert response.status_code == 401
    assert problem_slug(response) == "invalid-credentials"
    assert not RefreshToken.objects.filter(user=oidc_client.user).exists()


@pytest.mark.parametrize("body", [{}, {"all_devices": True}, {"refresh_token": "mdr_not-a-token"}])
def test_oidc_user_logout_is_204_noop(oidc_client, body):
    response = oidc_client.post("/api/v1/auth/logout", body, format="json")

    assert response.status_code == 204
    assert not RefreshToken.objects.filter(user=oidc_client.user).exists()
    assert oidc_client.get("/api/v1/auth/me").status_code == 200


def test_oidc_user_password_change_is_400(oidc_client):
    response = oidc_client.post(
        "/api/v1/auth/password/change",
        {"current_password": "Whatever-1", "new_password": "Brand-New-Pass-9"},
        format="json",
    )

    assert response.status_code == 400
    assert problem_slug(response) == "validation-error"
    oidc_client.user.refresh_from_db()
    assert not oidc_client.user.has_usable_password()
