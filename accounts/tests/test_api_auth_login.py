"""POST auth/login."""

import time

import jwt
import pytest
import time_machine
from django.conf import settings as django_settings

from accounts.models import RefreshToken
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import login, problem_slug

pytestmark = pytest.mark.django_db


def test_api_auth_login_returns_token_pair_and_me(api_client, user):
    response = login(api_client, user.email, device_id="laptop-1", HTTP_USER_AGENT="pytest-agent")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["user"]["id"] == str(user.pk) and body["user"]["auth_source"] == "local"
    claims = jwt.decode(
        body["access_token"],
        django_settings.JWT_SIGNING_KEY,
        algorithms=["HS256"],
        audience="mdcreator-api",
        issuer=django_settings.JWT_ISSUER,
    )
    token = RefreshToken.objects.get(user=user)
    assert str(token.family_id) == claims["sid"]
    assert token.device_id == "laptop-1" and token.user_agent == "pytest-agent" and token.parent is None
    assert claims["sub"] == str(user.pk) and claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 900
    assert body["refresh_token"].startswith("mdr_")
    assert body["refresh_token"] not in token.token_hash
    assert (token.expires_at - token.created_at).days == 30


def test_api_auth_login_email_is_case_insensitive(api_client, user):
    assert login(api_client, user.email.upper()).status_code == 200


def test_api_auth_login_access_token_is_not_signed_with_secret_key(api_client, user):
    access = login(api_client, user.email).json()["access_token"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(access, django_settings.SECRET_KEY, algorithms=["HS256"], audience="mdcreator-api")


@pytest.mark.parametrize("email,password", [("user@example.com", "Wrong-Passw0rd"), ("ghost@example.com", DEFAULT_PASSWORD)])
def test_api_auth_login_wrong_credentials_are_401(api_client, email, password):
    UserFactory(email="user@example.com")
    response = login(api_client, email, password)
    assert response.status_code == 401
    assert problem_slug(response) == "invalid-credentials"
    assert not RefreshToken.objects.exists()


def test_api_auth_login_unverified_email_is_403_only_with_right_password(api_client):
    user = UserFactory(unverified=True)
    assert problem_slug(login(api_client, user.email, "Wrong-Passw0rd")) == "invalid-credentials"
    response = login(api_client, user.email)
    assert response.status_code == 403
    assert problem_slug(response) == "email-not-verified"
    assert not RefreshToken.objects.exists()


def test_api_auth_login_unverified_allowed_when_confirmation_is_off(api_client, settings):
    settings.ACCOUNTS_EMAIL_CONFIRMATION = False
    user = UserFactory(unverified=True)
    assert login(api_client, user.email).status_code == 200


def test_api_auth_login_inactive_account_is_403(api_client):
    user = UserFactory(is_active=False)
    response = login(api_client, user.email)
    assert response.status_code == 403
    assert problem_slug(response) == "account-inactive"


def test_api_auth_login_oidc_only_account_is_invalid_credentials(api_client):
    user = UserFactory(oidc_only=True)
    response = login(api_client, user.email, "")
    # A blank password is a malformed body for every account (SPEC §9), refused before any lookup.
    assert response.status_code == 400
    assert problem_slug(response) == "validation-error" and "password" in response.json()["errors"]
    response = login(api_client, user.email, "Anything-1")
    assert response.status_code == 401
    assert problem_slug(response) == "invalid-credentials"


def test_api_auth_login_rate_limited_per_ip_and_email(api_client, user):
    # The limit is a fixed one-minute window: every attempt falls in the same one, however slow hashing is.
    window_start = int(time.time()) // 60 * 60 + 1
    with time_machine.travel(window_start, tick=False):
        for _ in range(10):
            login(api_client, user.email, "Wrong-Passw0rd")
        response = login(api_client, user.email)
        assert response.status_code == 429
        assert problem_slug(response) == "rate-limited"
        assert 0 < int(response["Retry-After"]) <= 61
        other = UserFactory()
        assert login(api_client, other.email).status_code == 200


@pytest.mark.parametrize(
    "body",
    [{}, {"email": "a@example.com"}, {"password": "x"}, {"email": "a@example.com", "password": None},
     {"email": "a@example.com", "password": 12345678}, {"email": ["a@example.com"], "password": "x"}],
)
def test_api_auth_login_malformed_body_is_validation_error(api_client, body):
    response = api_client.post("/api/v1/auth/login", body, format="json")
    assert response.status_code == 400
    assert problem_slug(response) == "validation-error"
    assert response.json()["errors"]
