"""POST auth/signup (and its alias auth/register)."""

import pytest

from accounts.models import EmailCode, RefreshToken, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import code_from_mail, problem_slug
from workspaces.models import WorkspaceMember

pytestmark = pytest.mark.django_db

GOOD = {"email": "New.Person@Example.com", "password": "Str0ng-Passw0rd", "display_name": "New Person"}


@pytest.mark.parametrize("path", ["/api/v1/auth/signup", "/api/v1/auth/register"])
def test_api_auth_signup_anonymous_creates_unverified_user_and_mails_code(
    api_client, mailoutbox, django_capture_on_commit_callbacks, path
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(path, GOOD, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    user = User.objects.get()
    assert body["user_id"] == str(user.pk)
    assert body["email"] == "new.person@example.com" == user.email
    assert body["display_name"] == "New Person"
    assert body["email_verified"] is False and body["confirmation_required"] is True
    assert "access_token" not in body
    assert user.check_password(GOOD["password"]) and user.password.startswith("argon2")
    assert not user.email_verified
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["new.person@example.com"]
    code = code_from_mail(mailoutbox[0])
    assert EmailCode.objects.filter(user=user, purpose="confirm_email", used_at=None).count() == 1
    assert code not in EmailCode.objects.get().code_hash


def test_api_auth_signup_default_display_name_is_email_local_part(api_client):
    response = api_client.post("/api/v1/auth/signup", {**GOOD, "display_name": ""}, format="json")
    assert response.status_code == 201
    assert response.json()["display_name"] == "new.person"


def test_api_auth_signup_without_confirmation_returns_tokens(api_client, settings, mailoutbox):
    settings.ACCOUNTS_EMAIL_CONFIRMATION = False
    response = api_client.post("/api/v1/auth/signup", GOOD, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["email_verified"] is True and body["confirmation_required"] is False
    assert body["token_type"] == "Bearer" and body["expires_in"] == 900
    assert body["refresh_token"].startswith("mdr_")
    assert RefreshToken.objects.filter(user__email="new.person@example.com").count() == 1
    assert mailoutbox == []
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert api_client.get("/api/v1/auth/me").json()["email"] == "new.person@example.com"


def test_api_auth_signup_existing_email_any_case_conflicts(api_client):
    UserFactory(email="new.person@example.com")
    response = api_client.post("/api/v1/auth/signup", GOOD, format="json")
    assert response.status_code == 409
    assert problem_slug(response) == "email-taken"
    assert User.objects.count() == 1


def test_api_auth_signup_taken_username_conflicts(api_client):
    UserFactory(username="writer")
    response = api_client.post("/api/v1/auth/signup", {**GOOD, "username": "Writer"}, format="json")
    assert response.status_code == 409
    assert problem_slug(response) == "username-taken"
    assert not User.objects.filter(email="new.person@example.com").exists()


def test_api_auth_signup_username_is_folded_to_lower_case(api_client):
    response = api_client.post("/api/v1/auth/signup", {**GOOD, "username": "Mixed.Case_1"}, format="json")
    assert response.status_code == 201
    assert User.objects.get().username == "mixed.case_1"


@pytest.mark.parametrize("username", ["ab", "with space", "x" * 41, "émile", "semi;colon"])
def test_api_auth_signup_invalid_username_is_rejected(api_client, username):
    response = api_client.post("/api/v1/auth/signup", {**GOOD, "username": username}, format="json")
    assert response.status_code == 400
    assert problem_slug(response) == "validation-error"
    assert "username" in response.json()["errors"]
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "password",
    ["Sh0rt", "alllowercase1", "ALLUPPERCASE1", "NoDigitsHere", "A1" + "a" * 127, "Password1", "new.person1A"],
)
def test_api_auth_signup_weak_password_is_rejected(api_client, password):
    response = api_client.post("/api/v1/auth/signup", {**GOOD, "password": password}, format="json")
    assert response.status_code == 400
    assert problem_slug(response) == "validation-error"
    assert response.json()["errors"]["password"]
    assert not User.objects.exists()


@pytest.mark.parametrize("email", ["", "not-an-email", "a@", "@b.c", None, 42, ["a@b.c"]])
def test_api_auth_signup_invalid_email_is_rejected(api_client, email):
    response = api_client.post("/api/v1/auth/signup", {**GOOD, "email": email}, format="json")
    assert response.status_code == 400
    assert "email" in response.json()["errors"]
    assert not User.objects.exists()


def test_api_auth_signup_disabled_is_forbidden(api_client, settings):
    settings.ACCOUNTS_SIGNUP_ENABLED = False
    response = api_client.post("/api/v1/auth/signup", GOOD, format="json")
    assert response.status_code == 403
    assert problem_slug(response) == "signup-disabled"
    assert not User.objects.exists()


def test_api_auth_signup_rate_limited_per_ip(api_client, settings):
    settings.RATE_LIMIT_SIGNUP = "2/hour"
    for index in range(2):
        response = api_client.post("/api/v1/auth/signup", {**GOOD, "email": f"p{index}@example.com"}, format="json")
        assert response.status_code == 201
    response = api_client.post("/api/v1/auth/signup", {**GOOD, "email": "p9@example.com"}, format="json")
    assert response.status_code == 429
    assert problem_slug(response) == "rate-limited"
    assert 0 < int(response["Retry-After"]) <= 3600
    assert User.objects.count() == 2


def test_api_auth_signup_creates_personal_workspace(api_client):
    response = api_client.post("/api/v1/auth/signup", GOOD, format="json")
    user = User.objects.get(pk=response.json()["user_id"])
    member = WorkspaceMember.objects.select_related("workspace").get(user=user)
    assert member.role == "owner" and member.workspace.is_personal
    assert member.workspace.name == "New Person's workspace"
