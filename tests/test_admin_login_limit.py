"""The admin's password sign-in is under the API login's limit (RATE_LIMIT_LOGIN per address and email, SPEC §9)."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.services.staff import staff_grant
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"
WRONG = "Not-the-password-1"


@pytest.fixture
def staffer():
    user = UserFactory(email="staffer@example.com")
    staff_grant(user=user)
    return user


@pytest.fixture(autouse=True)
def _three_a_minute(settings, start_of_minute):
    """Three sign-ins a minute, counted from the start of a minute."""
    settings.RATE_LIMIT_LOGIN = "3/minute"


def _sign_in(client: Client, username: str, password: str, **headers):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"}, **headers)


def _signed_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_admin_login_limit_refuses_the_right_password_once_over_the_limit(staffer):
    client = Client()
    for _ in range(3):
        wrong = _sign_in(client, staffer.email, WRONG)
        assert wrong.status_code == 200 and b"errornote" in wrong.content
    refused = _sign_in(client, staffer.email, DEFAULT_PASSWORD)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    page = refused.content.decode()
    assert "Too many sign-in attempts" in page and 'name="password"' in page  # the login page, with the reason
    assert refused["Content-Type"].startswith("text/html")
    assert not _signed_in(client)


def test_admin_login_limit_shares_its_counter_with_the_api_login(staffer, api_client):
    for _ in range(3):
        api = api_client.post("/api/v1/auth/login", {"email": staffer.email, "password": WRONG}, format="json")
        assert api.status_code == 401
    client = Client()
    assert _sign_in(client, staffer.email.upper(), DEFAULT_PASSWORD).status_code == 429  # emails compare lower-cased
    assert not _signed_in(client)


def test_admin_login_limit_counts_per_address_and_email(staffer, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    client = Client()
    for _ in range(3):
        _sign_in(client, staffer.email, WRONG, HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert _sign_in(client, staffer.email, DEFAULT_PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 429
    assert _sign_in(client, "someone.else@example.com", WRONG, HTTP_X_FORWARDED_FOR="203.0.113.7").status_code == 200
    other_address = _sign_in(client, staffer.email, DEFAULT_PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert other_address.status_code == 302 and _signed_in(client)


def test_admin_login_limit_leaves_the_login_page_readable(staffer):
    client = Client()
    for _ in range(5):
        _sign_in(client, staffer.email, WRONG)
    assert client.get(LOGIN).status_code == 200
