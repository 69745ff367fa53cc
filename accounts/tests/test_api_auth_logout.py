"""POST auth/logout: one family or every device."""

import pytest
from rest_framework.test import APIClient

from accounts.models import RefreshToken
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import bearer, login, problem_slug

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_devices(user):
    """Two logins of `user`, each with its own client."""
    devices = []
    for _ in range(2):
        client = APIClient()
        tokens = login(client, user.email).json()
        bearer(client, tokens["access_token"])
        devices.append((client, tokens))
    return devices


def _logout(client, body=None, capture=None):
    with capture(execute=True):
        return client.post("/api/v1/auth/logout", body or {}, format="json")


def test_api_auth_logout_revokes_callers_family_only(two_devices, django_capture_on_commit_callbacks):
    (first, first_tokens), (second, second_tokens) = two_devices
    assert first.get("/api/v1/auth/me").status_code == 200  # caches the family state
    response = _logout(first, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 204 and response.content == b""
    assert first.get("/api/v1/auth/me").status_code == 401
    assert second.get("/api/v1/auth/me").status_code == 200
    revoked = RefreshToken.objects.get(revoked_at__isnull=False)
    assert revoked.revoke_reason == "logout"


def test_api_auth_logout_without_body_or_content_type(two_devices, django_capture_on_commit_callbacks):
    (first, _), _ = two_devices
    with django_capture_on_commit_callbacks(execute=True):
        response = first.generic("POST", "/api/v1/auth/logout")
    assert response.status_code == 204
    assert RefreshToken.objects.filter(revoked_at__isnull=False).count() == 1


def test_api_auth_logout_by_refresh_token_revokes_that_family(two_devices, django_capture_on_commit_callbacks):
    (first, _), (second, second_tokens) = two_devices
    response = _logout(first, {"refresh_token": second_tokens["refresh_token"]}, django_capture_on_commit_callbacks)
    assert response.status_code == 204
    assert second.get("/api/v1/auth/me").status_code == 401
    assert first.get("/api/v1/auth/me").status_code == 200


def test_api_auth_logout_all_devices(two_devices, django_capture_on_commit_callbacks):
    (first, _), (second, _) = two_devices
    assert _logout(first, {"all_devices": True}, django_capture_on_commit_callbacks).status_code == 204
    assert first.get("/api/v1/auth/me").status_code == 401
    assert second.get("/api/v1/auth/me").status_code == 401
    assert not RefreshToken.objects.filter(revoked_at=None).exists()


def test_api_auth_logout_cannot_touch_another_users_family(two_devices, django_capture_on_commit_callbacks):
    (first, _), _ = two_devices
    stranger = APIClient()
    stranger_tokens = login(stranger, UserFactory().email).json()
    response = _logout(first, {"refresh_token": stranger_tokens["refresh_token"]}, django_capture_on_commit_callbacks)
    assert response.status_code == 204
    bearer(stranger, stranger_tokens["access_token"])
    assert stranger.get("/api/v1/auth/me").status_code == 200


def test_api_auth_logout_anonymous_is_401(api_client):
    response = api_client.post("/api/v1/auth/logout", {}, format="json")
    assert response.status_code == 401
    assert problem_slug(response) == "authentication-required"


@pytest.mark.parametrize("body", [{"all_devices": "yes"}, {"all_devices": 1}, {"refresh_token": 5}])
def test_api_auth_logout_bad_body_changes_nothing(two_devices, body):
    (first, _), _ = two_devices
    response = first.post("/api/v1/auth/logout", body, format="json")
    assert response.status_code == 400
    assert not RefreshToken.objects.filter(revoked_at__isnull=False).exists()
