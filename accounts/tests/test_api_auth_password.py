"""Password reset (request, confirm) and change."""

import time

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts import emails
from accounts.models import EmailCode, RefreshToken
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import bearer, code_from_mail, login, problem_slug

# Real commits: a reset request queues a job that the background worker runs on its own connection.
pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "Brand-New-Pass7"


@pytest.fixture
def reset_code(api_client, user, mailoutbox):
    """A reset code mailed to `user` (by the background worker)."""
    response = api_client.post("/api/v1/auth/password/reset", {"email": user.email}, format="json")
    assert response.status_code == 202
    assert emails.outbox_wait(timeout=30)
    assert mailoutbox[-1].to == [user.email]
    return code_from_mail(mailoutbox[-1])


def _reset_confirm(client, email, code, password=NEW_PASSWORD):
    return client.post(
        "/api/v1/auth/password/reset/confirm", {"email": email, "code": code, "new_password": password}, format="json"
    )


def test_api_auth_password_reset_sets_password_and_signs_out_everywhere(api_client, user, reset_code):
    device = APIClient()
    tokens = login(device, user.email).json()
    response = _reset_confirm(api_client, user.email, reset_code)
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not RefreshToken.objects.filter(user=user, revoked_at=None).exists()
    assert RefreshToken.objects.get(user=user).revoke_reason == "password_change"
    bearer(device, tokens["access_token"])
    assert device.get("/api/v1/auth/me").status_code == 401
    assert login(APIClient(), user.email, NEW_PASSWORD).status_code == 200


def test_api_auth_password_reset_code_works_once(api_client, user, reset_code):
    assert _reset_confirm(api_client, user.email, reset_code).status_code == 200
    response = _reset_confirm(api_client, user.email, reset_code, "Another-Pass8")
    assert response.status_code == 400 and problem_slug(response) == "invalid-code"
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_api_auth_password_reset_wrong_code_keeps_password(api_client, user, reset_code):
    wrong = f"{(int(reset_code) + 7) % 1_000_000:06d}"
    response = _reset_confirm(api_client, user.email, wrong)
    assert response.status_code == 400 and problem_slug(response) == "invalid-code"
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert EmailCode.objects.get(user=user).attempts == 1


def test_api_auth_password_reset_weak_password_keeps_code_usable(api_client, user, reset_code):
    response = _reset_confirm(api_client, user.email, reset_code, "weak")
    assert response.status_code == 400
    assert problem_slug(response) == "validation-error"
    assert response.json()["errors"]["new_password"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert _reset_confirm(api_client, user.email, reset_code).status_code == 200


def test_api_auth_password_reset_unknown_and_oidc_emails_get_same_answer_and_no_mail(api_client, mailoutbox):
    oidc_user = UserFactory(oidc_only=True)
    unknown = api_client.post("/api/v1/auth/password/reset", {"email": "ghost@example.com"}, format="json")
    oidc = api_client.post("/api/v1/auth/password/reset", {"email": oidc_user.email}, format="json")
    assert unknown.status_code == oidc.status_code == 202
    assert unknown.json() == oidc.json()
    assert emails.outbox_wait(timeout=30)
    assert mailoutbox == []
    assert not EmailCode.objects.exists()


def test_api_auth_password_reset_cooldown(api_client, user, reset_code):
    response = api_client.post("/api/v1/auth/password/reset", {"email": user.email}, format="json")
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_api_auth_password_reset_confirm_rate_limited(api_client, user, reset_code):
    with time_machine.travel(int(time.time()) // 900 * 900 + 1, tick=False):  # one fixed 15-minute window
        for _ in range(10):
            _reset_confirm(api_client, user.email, "000000" if reset_code != "000000" else "111111")
        response = _reset_confirm(api_client, user.email, reset_code)
    assert response.status_code == 429
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_api_auth_password_reset_marks_email_verified(api_client, mailoutbox):
    user = UserFactory(unverified=True)
    assert api_client.post("/api/v1/auth/password/reset", {"email": user.email}, format="json").status_code == 202
    assert emails.outbox_wait(timeout=30)
    assert _reset_confirm(api_client, user.email, code_from_mail(mailoutbox[-1])).status_code == 200
    user.refresh_from_db()
    assert user.email_verified


def _change(client, current, new):
    return client.post(
        "/api/v1/auth/password/change", {"current_password": current, "new_password": new}, format="json"
    )


def test_api_auth_password_change_keeps_current_session_only(user, django_capture_on_commit_callbacks):
    current, other = APIClient(), APIClient()
    current_tokens = login(current, user.email).json()
    other_tokens = login(other, user.email).json()
    bearer(current, current_tokens["access_token"])
    bearer(other, other_tokens["access_token"])
    with django_capture_on_commit_callbacks(execute=True):
        response = _change(current, DEFAULT_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert current.get("/api/v1/auth/me").status_code == 200
    assert other.get("/api/v1/auth/me").status_code == 401
    assert (
        problem_slug(
            current.post("/api/v1/auth/refresh", {"refresh_token": other_tokens["refresh_token"]}, format="json")
        )
        == "invalid-token"
    )


def test_api_auth_password_change_wrong_current_is_401(auth_client, user):
    response = _change(auth_client, "Wrong-Passw0rd", NEW_PASSWORD)
    assert response.status_code == 401
    assert problem_slug(response) == "invalid-credentials"
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_api_auth_password_change_weak_new_password_is_400(auth_client, user):
    response = _change(auth_client, DEFAULT_PASSWORD, "short")
    assert response.status_code == 400
    assert "new_password" in response.json()["errors"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_api_auth_password_change_oidc_account_is_400(api_client):
    from accounts.services.sessions import ClientInfo, session_start

    oidc_user = UserFactory(oidc_only=True)
    bearer(api_client, session_start(user=oidc_user, client=ClientInfo()).access_token)
    response = _change(api_client, "Anything-1", NEW_PASSWORD)
    assert response.status_code == 400
    assert "current_password" in response.json()["errors"]
    oidc_user.refresh_from_db()
    assert not oidc_user.has_usable_password()


def test_api_auth_password_change_anonymous_is_401(api_client):
    response = _change(api_client, DEFAULT_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 401
    assert problem_slug(response) == "authentication-required"
