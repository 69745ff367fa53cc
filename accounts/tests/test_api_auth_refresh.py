"""POST auth/refresh: rotation on every use, 10-second grace, reuse detection."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import RefreshToken
from accounts.tests.helpers import bearer, login, problem_slug
from accounts.tokens import unseal_successor

pytestmark = pytest.mark.django_db


def _refresh(client, token):
    return client.post("/api/v1/auth/refresh", {"refresh_token": token}, format="json")


@pytest.fixture
def session(api_client, user):
    """The token pair of a fresh login."""
    response = login(api_client, user.email)
    assert response.status_code == 200
    return response.json()


def test_api_auth_refresh_rotates_and_issues_child_in_same_family(api_client, session):
    response = _refresh(api_client, session["refresh_token"])
    assert response.status_code == 200
    body = response.json()
    assert body["refresh_token"] != session["refresh_token"]
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    parent, child = RefreshToken.objects.order_by("created_at")
    assert parent.rotated_at is not None and child.parent_id == parent.pk
    assert child.family_id == parent.family_id and child.rotated_at is None
    bearer(api_client, body["access_token"])
    assert api_client.get("/api/v1/auth/me").status_code == 200


def test_api_auth_refresh_chain_of_rotations_keeps_working(api_client, session):
    token = session["refresh_token"]
    for _ in range(5):
        response = _refresh(api_client, token)
        assert response.status_code == 200
        token = response.json()["refresh_token"]
    assert RefreshToken.objects.filter(revoked_at=None).count() == 6


def test_api_auth_refresh_within_grace_returns_the_successor_and_revokes_nothing(api_client, session):
    """Two tabs share one stored refresh token and refresh at once: the loser gets the winner's refresh
    token and an access token of its own (a 401 there signs every tab out)."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        winner = _refresh(api_client, session["refresh_token"]).json()
    with time_machine.travel(start + dt.timedelta(seconds=9), tick=False):
        response = _refresh(api_client, session["refresh_token"])
        assert response.status_code == 200
        loser = response.json()
        assert loser["refresh_token"] == winner["refresh_token"]
        assert loser["access_token"] != winner["access_token"] and loser["expires_in"] == 900
        assert set(loser) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert not RefreshToken.objects.filter(revoked_at__isnull=False).exists()
        assert RefreshToken.objects.count() == 2  # no new child
        bearer(api_client, loser["access_token"])
        assert api_client.get("/api/v1/auth/me").status_code == 200
        assert _refresh(api_client, winner["refresh_token"]).status_code == 200


def test_api_auth_refresh_within_grace_of_a_revoked_successor_is_invalid(api_client, session):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        winner = _refresh(api_client, session["refresh_token"]).json()
        RefreshToken.objects.filter(parent__isnull=False).update(revoked_at=start, revoke_reason="logout")
    with time_machine.travel(start + dt.timedelta(seconds=2), tick=False):
        response = _refresh(api_client, session["refresh_token"])
    assert response.status_code == 401 and problem_slug(response) == "invalid-token"
    assert winner["refresh_token"] != session["refresh_token"]


def test_api_auth_refresh_successor_is_stored_sealed_under_the_presented_token(api_client, session):
    winner = _refresh(api_client, session["refresh_token"]).json()
    parent = RefreshToken.objects.get(parent=None)
    assert winner["refresh_token"] not in parent.successor_sealed
    assert unseal_successor(session["refresh_token"], parent.successor_sealed) == winner["refresh_token"]
    assert unseal_successor(winner["refresh_token"], parent.successor_sealed) is None
    assert unseal_successor(session["refresh_token"], "not-a-sealed-token") is None


def test_api_auth_refresh_reuse_after_grace_revokes_the_family(api_client, user, session):
    other_client = APIClient()
    other_device = login(other_client, user.email).json()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        newer = _refresh(api_client, session["refresh_token"]).json()
    with time_machine.travel(start + dt.timedelta(seconds=11), tick=False):
        response = _refresh(api_client, session["refresh_token"])
        assert response.status_code == 401
        assert problem_slug(response) == "refresh-token-reused"
        first = RefreshToken.objects.get(parent=None, rotated_at__isnull=False)
        family = RefreshToken.objects.filter(family_id=first.family_id)
        assert family.count() == 2
        assert all(token.revoke_reason == "reuse" and token.revoked_at for token in family)
        # The attacker's (or victim's) newer token is dead too, and so is its access token.
        assert problem_slug(_refresh(api_client, newer["refresh_token"])) == "invalid-token"
        bearer(api_client, newer["access_token"])
        assert api_client.get("/api/v1/auth/me").status_code == 401
        # Another device's family is untouched.
        assert _refresh(other_client, other_device["refresh_token"]).status_code == 200


def test_api_auth_refresh_expired_token_is_invalid(api_client, session):
    with time_machine.travel(timezone.now() + dt.timedelta(days=30, seconds=1)):
        response = _refresh(api_client, session["refresh_token"])
    assert response.status_code == 401
    assert problem_slug(response) == "invalid-token"


def test_api_auth_refresh_family_is_capped_at_90_days(api_client, session):
    token = session["refresh_token"]
    start = timezone.now()
    for day in (29, 58, 87):
        with time_machine.travel(start + dt.timedelta(days=day), tick=False):
            response = _refresh(api_client, token)
            assert response.status_code == 200
            token = response.json()["refresh_token"]
    latest = RefreshToken.objects.get(rotated_at=None)
    assert latest.expires_at <= latest.family_started_at + dt.timedelta(days=90)
    with time_machine.travel(start + dt.timedelta(days=90, seconds=5), tick=False):
        assert problem_slug(_refresh(api_client, token)) == "invalid-token"


def test_api_auth_refresh_unknown_token_is_401(api_client):
    response = _refresh(api_client, "mdr_unknown")
    assert response.status_code == 401
    assert problem_slug(response) == "invalid-token"


# Not a token at all (blank, longer than any token, null, not a string): a malformed body (SPEC §9).
@pytest.mark.parametrize("token", ["", "x" * 600, None, 42])
def test_api_auth_refresh_malformed_token_is_400(api_client, token):
    response = _refresh(api_client, token)
    assert response.status_code == 400
    assert problem_slug(response) == "validation-error" and "refresh_token" in response.json()["errors"]


def test_api_auth_refresh_revoked_token_is_invalid(api_client, session, django_capture_on_commit_callbacks):
    bearer(api_client, session["access_token"])
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post("/api/v1/auth/logout", {}, format="json").status_code == 204
    assert problem_slug(_refresh(api_client, session["refresh_token"])) == "invalid-token"


def test_api_auth_refresh_of_deactivated_user_is_invalid(api_client, user, session):
    user.is_active = False
    user.save()
    assert problem_slug(_refresh(api_client, session["refresh_token"])) == "invalid-token"


def test_api_auth_refresh_rate_limited_per_family(api_client, user, session):
    token = session["refresh_token"]
    # The limit counts per minute window: the clock stands still so that the 61 calls share one window
    # whatever second the test starts at.
    with time_machine.travel(timezone.now(), tick=False):
        for _ in range(60):
            response = _refresh(api_client, token)
            assert response.status_code == 200
            token = response.json()["refresh_token"]
        response = _refresh(api_client, token)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    # The limit is per family: another login of the same user still refreshes.
    other = login(APIClient(), user.email).json()
    assert _refresh(api_client, other["refresh_token"]).status_code == 200
