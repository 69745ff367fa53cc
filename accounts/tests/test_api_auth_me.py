"""GET and PATCH auth/me, and bearer-token handling on an authenticated endpoint."""

import datetime as dt

import jwt
import pytest
import time_machine
from django.conf import settings as django_settings
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import bearer, problem_slug

pytestmark = pytest.mark.django_db

ME_FIELDS = {
    "id", "email", "username", "display_name", "avatar_url", "bio", "email_verified", "settings", "features",
    "subscription_tier", "subscription_status", "auth_source", "created_at", "updated_at", "last_seen_at",
    "full_name", "is_verified", "is_active",
}


def test_api_auth_me_get_returns_profile(auth_client, user):
    response = auth_client.get("/api/v1/auth/me")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == ME_FIELDS
    assert body["id"] == str(user.pk) and body["email"] == user.email
    assert body["settings"]["theme"] == "system" and body["features"]["collaboration"] is True
    assert body["created_at"].endswith("Z") and len(body["created_at"]) == len("2026-01-01T00:00:00.000Z")
    assert "password" not in response.content.decode()


def test_api_auth_me_get_anonymous_is_401(api_client):
    response = api_client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert problem_slug(response) == "authentication-required"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_api_auth_me_expired_access_token_is_token_expired(auth_client):
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=15, seconds=1)):
        response = auth_client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert problem_slug(response) == "token-expired"


def _forged(user, **overrides):
    now = int(timezone.now().timestamp())
    claims = {
        "iss": django_settings.JWT_ISSUER, "aud": "mdcreator-api", "sub": str(user.pk), "sid": str(user.pk),
        "iat": now, "exp": now + 600, "jti": "x", "typ": "access",
    }
    key = overrides.pop("key", django_settings.JWT_SIGNING_KEY)
    claims.update(overrides)
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm="HS256")


@pytest.mark.parametrize(
    "overrides",
    [
        {"key": "another-key-of-sufficient-length-000000"},
        {"aud": "someone-else"},
        {"typ": "refresh"},
        {"sid": None},
        {"sub": "not-a-uuid"},
        {"sub": "00000000-0000-0000-0000-000000000000"},
    ],
)
def test_api_auth_me_forged_or_wrong_tokens_are_invalid(api_client, user, overrides):
    bearer(api_client, _forged(user, **overrides))
    response = api_client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert problem_slug(response) == "invalid-token"


def test_api_auth_me_token_of_deactivated_user_is_invalid(auth_client, user):
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = auth_client.get("/api/v1/auth/me")
    assert response.status_code == 401 and problem_slug(response) == "invalid-token"


def test_api_auth_me_last_seen_updates_at_most_every_five_minutes(auth_client, user):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        auth_client.get("/api/v1/auth/me")
    user.refresh_from_db()
    first_seen, updated_at = user.last_seen_at, user.updated_at
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        auth_client.get("/api/v1/auth/me")
    user.refresh_from_db()
    assert user.last_seen_at == first_seen
    with time_machine.travel(start + dt.timedelta(minutes=5, seconds=1), tick=False):
        auth_client.get("/api/v1/auth/me")
    user.refresh_from_db()
    assert user.last_seen_at > first_seen
    assert user.updated_at == updated_at


def test_api_auth_me_patch_updates_fields_and_merges_settings(auth_client, user):
    response = auth_client.patch(
        "/api/v1/auth/me",
        {
            "display_name": "Ada",
            "username": "Ada.L",
            "avatar_url": "https://img.example.com/a.png",
            "bio": "Writes things.",
            "settings": {"theme": "dark", "custom_key": [1, 2]},
            "email": "ignored@example.com",
            "id": "ignored",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["display_name"] == "Ada" and body["username"] == "ada.l"
    assert body["settings"] == {**user.settings, "theme": "dark", "custom_key": [1, 2]}
    user.refresh_from_db()
    assert user.email.startswith("user") and user.username == "ada.l" and user.settings["language"] == "en"


def test_api_auth_me_patch_username_can_be_cleared(auth_client, user):
    user.username = "someone"
    user.save()
    assert auth_client.patch("/api/v1/auth/me", {"username": None}, format="json").json()["username"] is None


def test_api_auth_me_patch_taken_username_conflicts(auth_client, user):
    UserFactory(username="taken")
    response = auth_client.patch("/api/v1/auth/me", {"username": "TAKEN"}, format="json")
    assert response.status_code == 409
    assert problem_slug(response) == "username-taken"
    user.refresh_from_db()
    assert user.username is None


@pytest.mark.parametrize(
    "body,field",
    [
        ({"display_name": ""}, "display_name"),
        ({"display_name": "x" * 256}, "display_name"),
        ({"display_name": 5}, "display_name"),
        ({"bio": "x" * 2001}, "bio"),
        ({"avatar_url": "javascript:alert(1)"}, "avatar_url"),
        ({"avatar_url": "not a url"}, "avatar_url"),
        ({"settings": "dark"}, "settings"),
        ({"settings": [1]}, "settings"),
        ({"settings": {"theme": "neon"}}, "settings.theme"),
        ({"settings": {"ai_enabled": "yes"}}, "settings.ai_enabled"),
        ({"username": "no spaces allowed"}, "username"),
    ],
)
def test_api_auth_me_patch_invalid_field_is_400_and_nothing_changes(auth_client, user, body, field):
    before = User.objects.values().get(pk=user.pk)
    response = auth_client.patch("/api/v1/auth/me", body, format="json")
    assert response.status_code == 400
    assert problem_slug(response) == "validation-error"
    assert field in response.json()["errors"]
    after = User.objects.values().get(pk=user.pk)
    assert {k: v for k, v in after.items() if k != "last_seen_at"} == {
        k: v for k, v in before.items() if k != "last_seen_at"
    }


def test_api_auth_me_patch_oversized_settings_is_413(auth_client, user):
    response = auth_client.patch("/api/v1/auth/me", {"settings": {"blob": "x" * 17000}}, format="json")
    assert response.status_code == 413
    user.refresh_from_db()
    assert "blob" not in user.settings


def test_api_auth_me_patch_anonymous_is_401(api_client):
    assert api_client.patch("/api/v1/auth/me", {"bio": "x"}, format="json").status_code == 401


def test_api_auth_me_token_with_made_up_session_is_invalid(api_client, user):
    """A correctly signed token whose `sid` names no refresh family is refused (decision 41)."""
    import uuid

    bearer(api_client, _forged(user, sid=str(uuid.uuid4())))
    response = api_client.get("/api/v1/auth/me")
    assert response.status_code == 401 and problem_slug(response) == "invalid-token"


def test_api_auth_me_token_with_another_users_session_is_invalid(api_client, user):
    from accounts.services.sessions import ClientInfo, session_start

    other = UserFactory()
    family = session_start(user=other, client=ClientInfo()).session_id
    bearer(api_client, _forged(user, sid=str(family)))
    response = api_client.get("/api/v1/auth/me")
    assert response.status_code == 401 and problem_slug(response) == "invalid-token"
    bearer(api_client, _forged(other, sid=str(family)))
    assert api_client.get("/api/v1/auth/me").status_code == 200


def test_api_auth_me_token_of_a_deleted_family_is_invalid(auth_client, user):
    from accounts.models import RefreshToken

    RefreshToken.objects.filter(user=user).delete()
    response = auth_client.get("/api/v1/auth/me")
    assert response.status_code == 401 and problem_slug(response) == "invalid-token"


def test_api_auth_me_body_is_the_me_serializers(db):
    from accounts.serializers import MeSerializer, me_body
    from accounts.tests.factories import UserFactory

    for user in (UserFactory(), UserFactory(username="someone", avatar_url="https://example.com/a.png",
                                             last_seen_at=None, email_verified=True)):
        assert me_body(user) == MeSerializer(user).data
