"""OIDC bearer tokens from a real provider: who they sign in as (SPEC §3.1)."""

import threading

import jwt
import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.users import user_deactivate
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import problem_slug

pytestmark = pytest.mark.django_db


def _me(client, token):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/v1/auth/me")


def test_oidc_access_token_me_provisions_verified_user(api_client, oidc_provider, person):
    tokens = oidc_provider.sign_in(person)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["aud"] == claims["client_id"] == oidc_provider.client_id

    response = _me(api_client, tokens["access_token"])

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["email"] == person["email"]
    assert body["display_name"] == person["name"]
    assert body["auth_source"] == "oidc"
    assert body["email_verified"] is True
    user = User.objects.get(pk=body["id"])
    assert (user.oidc_issuer, user.oidc_sub) == (oidc_provider.issuer, person["sub"])
    assert not user.has_usable_password()
    assert user.last_seen_at is not None


def test_oidc_id_token_me_provisions_user(api_client, oidc_provider, person):
    tokens = oidc_provider.sign_in(person, resource=None)

    response = _me(api_client, tokens["id_token"])

    assert response.status_code == 200, response.content
    assert response.json()["auth_source"] == "oidc"
    assert User.objects.filter(oidc_sub=person["sub"], email=person["email"]).count() == 1


def test_oidc_same_sub_maps_to_same_user(api_client, oidc_provider, person):
    first = _me(api_client, oidc_provider.sign_in(person)["access_token"]).json()
    renamed = {**person, "email": f"renamed-{person['email']}", "name": "Ada King"}
    second = _me(api_client, oidc_provider.sign_in(renamed)["id_token"]).json()
    third = _me(api_client, oidc_provider.sign_in(person)["access_token"]).json()

    assert first["id"] == second["id"] == third["id"]
    assert User.objects.filter(oidc_sub=person["sub"]).count() == 1
    assert User.objects.get(pk=first["id"]).email == person["email"]


def test_oidc_verified_email_links_existing_local_user(api_client, oidc_provider, person):
    local = UserFactory(email=person["email"].upper(), unverified=True)

    response = _me(api_client, oidc_provider.sign_in(person)["access_token"])

    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(local.pk)
    local.refresh_from_db()
    assert (local.oidc_issuer, local.oidc_sub) == (oidc_provider.issuer, person["sub"])
    assert local.email_verified is True
    assert local.check_password(DEFAULT_PASSWORD)
    assert User.objects.count() == 1


def test_oidc_unverified_email_of_existing_user_is_409(api_client, oidc_provider, person, stored_users):
    UserFactory(email=person["email"])
    before = stored_users()

    response = _me(api_client, oidc_provider.sign_in({**person, "email_verified": False})["access_token"])

    assert response.status_code == 409
    assert problem_slug(response) == "email-taken"
    assert "password" in response.json()["detail"]
    assert stored_users() == before


def test_oidc_unverified_email_of_new_user_creates_verified_account(api_client, oidc_provider, person):
    response = _me(api_client, oidc_provider.sign_in({**person, "email_verified": False})["access_token"])

    assert response.status_code == 200, response.content
    assert response.json()["email_verified"] is True


def test_oidc_token_without_email_asks_userinfo_once_and_is_401(api_client, oidc_provider, person, stored_users):
    # With only the openid scope the ID token carries no email. The provider's
    # userinfo endpoint only takes its own access tokens, so it refuses this one.
    tokens = oidc_provider.sign_in(person, scope="openid", resource=None)
    assert "email" not in jwt.decode(tokens["id_token"], options={"verify_signature": False})
    before = stored_users()
    userinfo_calls = oidc_provider.requests_to("/me")

    response = _me(api_client, tokens["id_token"])

    assert response.status_code == 401
    assert problem_slug(response) == "invalid-token"
    assert oidc_provider.requests_to("/me") == userinfo_calls + 1
    assert stored_users() == before


def test_oidc_deactivated_user_is_401(api_client, oidc_provider, person):
    token = oidc_provider.sign_in(person)["access_token"]
    user = User.objects.get(pk=_me(api_client, token).json()["id"])
    user_deactivate(user=user)

    response = _me(api_client, token)

    assert response.status_code == 401
    assert problem_slug(response) == "invalid-token"


@pytest.mark.django_db(transaction=True)
def test_oidc_concurrent_first_requests_make_one_user(oidc_provider, person):
    token = oidc_provider.sign_in(person)["access_token"]
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def first_request():
        try:
            barrier.wait(timeout=10)
            statuses.append(_me(APIClient(), token).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=first_request) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses == [200, 200, 200, 200]
    assert User.objects.filter(oidc_sub=person["sub"]).count() == 1


def test_oidc_access_tokens_count_against_the_api_rate_limit(
    api_client, oidc_provider, person, settings, start_of_minute
):
    """The throttle counts an OIDC token's requests itself (local tokens are counted by their session check)."""
    settings.RATE_LIMIT_API = "3/minute"
    token = oidc_provider.sign_in(person)["access_token"]
    statuses = [_me(api_client, token).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
