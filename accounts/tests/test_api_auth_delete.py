"""DELETE auth/me: erasure by anonymization."""

import pytest
from rest_framework.test import APIClient

from accounts.models import EmailCode, RefreshToken, User
from accounts.services.codes import email_code_issue
from accounts.services.sessions import ClientInfo, session_start
from accounts.services.users import user_create
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import bearer, login, problem_slug
from sync.models import SyncLog
from workspaces.models import Workspace, WorkspaceMember
from workspaces.roles import Role
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db


def _delete(client, password=DEFAULT_PASSWORD):
    body = {} if password is None else {"password": password}
    return client.delete("/api/v1/auth/me", body, format="json")


@pytest.fixture
def member_elsewhere(user):
    """`user` as an editor in someone else's team workspace."""
    owner = UserFactory()
    workspace = workspace_create(owner=owner, name="Theirs")
    WorkspaceMember.objects.create(workspace=workspace, user=user, role=Role.EDITOR)
    return workspace


def test_api_auth_delete_anonymizes_and_keeps_others_data(auth_client, user, member_elsewhere):
    personal = workspace_create(owner=user, name="Mine", is_personal=True)
    solo_team = workspace_create(owner=user, name="Solo team")
    old_email = user.email
    response = _delete(auth_client)
    assert response.status_code == 204
    user.refresh_from_db()
    assert user.email == f"deleted+{user.pk}@invalid" and user.deleted_at is not None
    assert not user.is_active and not user.has_usable_password() and user.display_name == ""
    assert not RefreshToken.objects.filter(user=user).exists()
    assert Workspace.objects.get(pk=personal.pk).deleted_at is not None
    assert Workspace.objects.get(pk=solo_team.pk).deleted_at is not None
    assert not WorkspaceMember.objects.get(workspace=member_elsewhere, user=user).is_active
    assert Workspace.objects.get(pk=member_elsewhere.pk).deleted_at is None
    assert SyncLog.objects.filter(workspace=member_elsewhere, entity_type="member", operation="delete").exists()
    assert auth_client.get("/api/v1/auth/me").status_code == 401
    assert login(APIClient(), old_email).status_code == 401


def test_api_auth_delete_frees_the_email_for_a_new_signup(auth_client, user):
    email = user.email
    assert _delete(auth_client).status_code == 204
    assert user_create(email=email, password="Fresh-Start-11", email_verified=True).email == email


def test_api_auth_delete_refused_while_owning_shared_team_workspace(auth_client, user):
    shared = workspace_create(owner=user, name="Shared")
    WorkspaceMember.objects.create(workspace=shared, user=UserFactory(), role=Role.VIEWER)
    response = _delete(auth_client)
    assert response.status_code == 409
    assert problem_slug(response) == "owns-shared-workspace"
    user.refresh_from_db()
    assert user.is_active and user.deleted_at is None
    assert RefreshToken.objects.filter(user=user, revoked_at=None).exists()


def test_api_auth_delete_allowed_when_other_members_left(auth_client, user):
    shared = workspace_create(owner=user, name="Shared")
    WorkspaceMember.objects.create(workspace=shared, user=UserFactory(), role=Role.VIEWER, is_active=False)
    assert _delete(auth_client).status_code == 204


@pytest.mark.parametrize("password", ["Wrong-Passw0rd", "", None])
def test_api_auth_delete_needs_the_right_password(auth_client, user, password):
    response = _delete(auth_client, password)
    assert response.status_code == 401
    assert problem_slug(response) == "invalid-credentials"
    user.refresh_from_db()
    assert user.is_active and user.deleted_at is None


def test_api_auth_delete_wrong_type_is_400(auth_client, user):
    response = auth_client.delete("/api/v1/auth/me", {"password": 123}, format="json")
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.is_active


def test_api_auth_delete_oidc_only_without_fresh_sign_in_is_401(api_client):
    oidc_user = UserFactory(oidc_only=True)
    bearer(api_client, session_start(user=oidc_user, client=ClientInfo()).access_token)
    response = _delete(api_client, None)
    assert response.status_code == 401
    oidc_user.refresh_from_db()
    assert oidc_user.deleted_at is None


def test_api_auth_delete_anonymous_is_401(api_client):
    assert api_client.delete("/api/v1/auth/me").status_code == 401


def test_api_auth_delete_removes_codes(auth_client, user):
    email_code_issue(user=user, purpose=EmailCode.Purpose.RESET_PASSWORD)
    assert _delete(auth_client).status_code == 204
    assert not EmailCode.objects.filter(user=user).exists()
    assert User.objects.filter(pk=user.pk).exists()
