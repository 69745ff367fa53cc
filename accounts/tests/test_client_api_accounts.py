"""The existing web client's sign-up, sign-in and session requests, as its auth service sends them
(SPEC §3.1 "Me", decision 37): `full_name` on register, the profile names it reads, two tabs refreshing at once."""

import datetime as dt
import json

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from accounts.models import RefreshToken, User
from accounts.tests.helpers import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

REGISTER = {"email": "ada@example.com", "username": "ada", "password": "Str0ng-Passw0rd", "full_name": "Ada Lovelace"}


def _post(client, path, body, **headers):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_client_api_register_takes_full_name_and_answers_with_the_user_it_reads(settings):
    settings.ACCOUNTS_EMAIL_CONFIRMATION = False
    response = _post(Client(), "/api/v1/auth/register", REGISTER)
    assert response.status_code == 201, response.content
    body = response.json()
    user = User.objects.get(email="ada@example.com")
    assert user.display_name == "Ada Lovelace" and user.username == "ada"
    assert body["full_name"] == "Ada Lovelace" and body["is_verified"] is True and body["is_active"] is True
    assert body["access_token"] and body["refresh_token"].startswith("mdr_")
    profile = body["user"]
    assert profile["id"] == str(user.pk) and profile["email"] == "ada@example.com" and profile["username"] == "ada"
    assert (profile["full_name"], profile["is_verified"], profile["is_active"]) == ("Ada Lovelace", True, True)


def test_client_api_register_with_confirmation_has_no_tokens_and_unverified_names():
    response = _post(Client(), "/api/v1/auth/register", REGISTER)
    assert response.status_code == 201
    body = response.json()
    assert body["full_name"] == "Ada Lovelace" and body["is_verified"] is False and body["is_active"] is True
    assert "user" not in body and "access_token" not in body


def test_client_api_register_prefers_display_name_over_full_name():
    response = _post(Client(), "/api/v1/auth/register", {**REGISTER, "display_name": "Countess"})
    assert response.status_code == 201
    assert User.objects.get().display_name == "Countess"


def test_client_api_register_rejects_a_non_string_full_name():
    response = _post(Client(), "/api/v1/auth/register", {**REGISTER, "full_name": ["Ada"]})
    assert response.status_code == 400
    assert "full_name" in response.json()["errors"]
    assert not User.objects.exists()


def test_client_api_login_and_me_carry_full_name_is_verified_is_active():
    user = User.objects.create_user(email="grace@example.com", password=DEFAULT_PASSWORD, display_name="Grace Hopper",
                                    email_verified=True)
    client = Client()
    login = _post(client, "/api/v1/auth/login", {"email": "grace@example.com", "password": DEFAULT_PASSWORD})
    assert login.status_code == 200
    me_in_login = login.json()["user"]
    assert (me_in_login["full_name"], me_in_login["is_verified"], me_in_login["is_active"]) == ("Grace Hopper", True, True)
    me = client.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {login.json()['access_token']}").json()
    assert me["id"] == str(user.pk) and me["full_name"] == "Grace Hopper" and me["is_verified"] is True


def test_client_api_two_tabs_refreshing_one_stored_token_both_stay_signed_in():
    """Tab A and tab B read the same stored refresh token and refresh at once; whichever loses gets the
    winner's refresh token back, so the shared storage ends up holding a token that still works."""
    User.objects.create_user(email="tabs@example.com", password=DEFAULT_PASSWORD, email_verified=True)
    stored = _post(Client(), "/api/v1/auth/login", {"email": "tabs@example.com", "password": DEFAULT_PASSWORD}).json()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        tab_a = _post(Client(), "/api/v1/auth/refresh", {"refresh_token": stored["refresh_token"]})
    with time_machine.travel(start + dt.timedelta(seconds=1), tick=False):
        tab_b = _post(Client(), "/api/v1/auth/refresh", {"refresh_token": stored["refresh_token"]})
        assert tab_a.status_code == tab_b.status_code == 200
        assert tab_b.json()["refresh_token"] == tab_a.json()["refresh_token"]
        for tab in (tab_a, tab_b):
            me = Client().get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {tab.json()['access_token']}")
            assert me.status_code == 200
        again = _post(Client(), "/api/v1/auth/refresh", {"refresh_token": tab_b.json()["refresh_token"]})
        assert again.status_code == 200
    assert not RefreshToken.objects.filter(revoked_at__isnull=False).exists()
