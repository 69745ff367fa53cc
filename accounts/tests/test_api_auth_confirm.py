"""POST auth/confirm and auth/confirm/resend."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from accounts import emails
from accounts.models import EmailCode, User
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import code_from_mail, problem_slug

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_up(api_client, mailoutbox, django_capture_on_commit_callbacks):
    """An unverified account created through the API, and the code it was mailed."""
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/v1/auth/signup", {"email": "fresh@example.com", "password": "Str0ng-Passw0rd"}, format="json"
        )
    assert response.status_code == 201
    return User.objects.get(email="fresh@example.com"), code_from_mail(mailoutbox[-1])


def _confirm(client, code, email="fresh@example.com"):
    return client.post("/api/v1/auth/confirm", {"email": email, "confirmation_code": code}, format="json")


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_api_auth_confirm_right_code_verifies(api_client, signed_up):
    user, code = signed_up
    response = _confirm(api_client, code)
    assert response.status_code == 200
    assert response.json()["email_verified"] is True
    user.refresh_from_db()
    assert user.email_verified
    assert EmailCode.objects.get(user=user).used_at is not None


def test_api_auth_confirm_email_is_case_insensitive(api_client, signed_up):
    _, code = signed_up
    assert _confirm(api_client, code, email="FRESH@Example.com").status_code == 200


def test_api_auth_confirm_used_code_is_refused(api_client, signed_up):
    _, code = signed_up
    assert _confirm(api_client, code).status_code == 200
    response = _confirm(api_client, code)
    assert response.status_code == 400
    assert problem_slug(response) == "invalid-code"


def test_api_auth_confirm_wrong_code_counts_attempts_and_burns_after_five(api_client, signed_up):
    user, code = signed_up
    for attempt in range(1, 6):
        response = _confirm(api_client, _wrong(code))
        assert response.status_code == 400 and problem_slug(response) == "invalid-code"
        assert EmailCode.objects.get(user=user).attempts == attempt
    response = _confirm(api_client, code)
    assert response.status_code == 400
    assert problem_slug(response) == "invalid-code"
    user.refresh_from_db()
    assert not user.email_verified


def test_api_auth_confirm_expired_code_is_refused(api_client, signed_up):
    user, code = signed_up
    with time_machine.travel(timezone.now() + dt.timedelta(hours=24, seconds=1)):
        response = _confirm(api_client, code)
    assert response.status_code == 400 and problem_slug(response) == "invalid-code"
    user.refresh_from_db()
    assert not user.email_verified


def test_api_auth_confirm_unknown_email_is_invalid_code(api_client):
    response = _confirm(api_client, "123456", email="nobody@example.com")
    assert response.status_code == 400 and problem_slug(response) == "invalid-code"


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", "12 456", 123456, None, "١٢٣٤٥٦"])
def test_api_auth_confirm_malformed_code_is_validation_error(api_client, signed_up, code):
    user, _ = signed_up
    response = _confirm(api_client, code)
    assert response.status_code == 400
    assert "confirmation_code" in response.json()["errors"]
    assert EmailCode.objects.get(user=user).attempts == 0


def test_api_auth_confirm_rate_limited_per_email(api_client, signed_up):
    _, code = signed_up
    for _ in range(10):
        _confirm(api_client, _wrong(code))
    response = _confirm(api_client, code)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


# Real commits for resend: the request queues a job that the background worker runs on its own connection.


@pytest.mark.django_db(transaction=True)
def test_api_auth_confirm_resend_issues_new_code_and_invalidates_old(api_client, signed_up, mailoutbox):
    user, old_code = signed_up
    response = api_client.post("/api/v1/auth/confirm/resend", {"email": "fresh@example.com"}, format="json")
    assert response.status_code == 202
    assert emails.outbox_wait(timeout=30)
    assert len(mailoutbox) == 2
    new_code = code_from_mail(mailoutbox[-1])
    assert EmailCode.objects.filter(user=user, used_at=None).count() == 1
    if new_code != old_code:
        assert _confirm(api_client, old_code).status_code == 400
    assert _confirm(api_client, new_code).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_api_auth_confirm_resend_unknown_or_verified_email_same_answer_no_mail(api_client, mailoutbox):
    UserFactory(email="done@example.com")
    unknown = api_client.post("/api/v1/auth/confirm/resend", {"email": "ghost@example.com"}, format="json")
    verified = api_client.post("/api/v1/auth/confirm/resend", {"email": "done@example.com"}, format="json")
    assert unknown.status_code == verified.status_code == 202
    assert unknown.json() == verified.json()
    assert emails.outbox_wait(timeout=30)
    assert mailoutbox == []
    assert not EmailCode.objects.exists()


def test_api_auth_confirm_resend_cooldown_is_60_seconds(api_client, signed_up):
    first = api_client.post("/api/v1/auth/confirm/resend", {"email": "fresh@example.com"}, format="json")
    second = api_client.post("/api/v1/auth/confirm/resend", {"email": "fresh@example.com"}, format="json")
    assert first.status_code == 202
    assert second.status_code == 429
    assert problem_slug(second) == "rate-limited"
    assert 0 < int(second["Retry-After"]) <= 61
