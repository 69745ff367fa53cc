"""GET auth/me/export."""

import json

import pytest

from accounts.services.sessions import ClientInfo, session_start
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import bearer, problem_slug
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db


def test_api_auth_export_downloads_profile_memberships_and_sessions(auth_client, user):
    team = workspace_create(owner=user, name="Team")
    other = UserFactory()
    workspace_create(owner=other, name="Not mine")
    response = auth_client.get("/api/v1/auth/me/export")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="mdcreator-export-')
    document = json.loads(response.content)
    assert document["profile"]["email"] == user.email
    assert [m["workspace_id"] for m in document["memberships"]] == [str(team.pk)]
    assert document["memberships"][0]["role"] == "owner"
    assert len(document["sessions"]) == 1
    assert "token_hash" not in response.content.decode() and "password" not in document["profile"]
    assert other.email not in response.content.decode()


def test_api_auth_export_is_limited_to_once_an_hour(auth_client):
    assert auth_client.get("/api/v1/auth/me/export").status_code == 200
    response = auth_client.get("/api/v1/auth/me/export")
    assert response.status_code == 429
    assert problem_slug(response) == "rate-limited"
    assert 0 < int(response["Retry-After"]) <= 3601


def test_api_auth_export_limit_is_per_user(auth_client):
    assert auth_client.get("/api/v1/auth/me/export").status_code == 200
    other = UserFactory()
    client = bearer(type(auth_client)(), session_start(user=other, client=ClientInfo()).access_token)
    assert client.get("/api/v1/auth/me/export").status_code == 200


def test_api_auth_export_anonymous_is_401(api_client):
    assert api_client.get("/api/v1/auth/me/export").status_code == 401
