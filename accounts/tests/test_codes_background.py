"""Code requests (password reset, confirmation resend) do the same work in the request whatever the address.

The request validates, counts the rate limit and queues one job; the process's background worker looks the
account up, issues the code and hands the mail on. So the answer, and the time it takes, says nothing about
whether an account exists (SPEC §3.1: both answers are 202 and take the same time).
"""

from __future__ import annotations

import logging
import socket
import time

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import emails
from accounts.models import EmailCode, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import code_from_mail, login

# Real commits: the job is queued when the request's work commits, as in production, and the worker's own
# connection sees the accounts the test created.
pytestmark = pytest.mark.django_db(transaction=True)

RESET = "/api/v1/auth/password/reset"
RESET_CONFIRM = "/api/v1/auth/password/reset/confirm"
RESEND = "/api/v1/auth/confirm/resend"
CONFIRM = "/api/v1/auth/confirm"
NEW_PASSWORD = "Brand-New-Pass7"


@pytest.fixture
def smtp_down(background):
    """The delivery backend is SMTP at a local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    background.EMAIL_DELIVERY_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    background.EMAIL_HOST, background.EMAIL_PORT = "127.0.0.1", port
    background.EMAIL_USE_TLS = background.EMAIL_USE_SSL = False
    return background


def _post(path: str, email: str):
    return APIClient().post(path, {"email": email}, format="json")


def _queries_of(path: str, email: str) -> int:
    """How many SQL queries the request itself runs (the worker's connection is another one)."""
    with CaptureQueriesContext(connection) as captured:
        response = _post(path, email)
    assert response.status_code == 202, response.content
    return len(captured)


def test_codes_background_reset_request_runs_the_same_queries_for_every_address(background, mailoutbox):
    registered = UserFactory(email="registered@example.com")
    oidc = UserFactory(email="oidc@example.com", oidc_only=True)
    counts = {
        "registered": _queries_of(RESET, registered.email),
        "unknown": _queries_of(RESET, "nobody@example.com"),
        "oidc-only": _queries_of(RESET, oidc.email),
    }
    assert len(set(counts.values())) == 1, counts
    assert emails.outbox_wait(timeout=30)
    assert [message.to for message in mailoutbox] == [[registered.email]]  # the work was done, elsewhere


def test_codes_background_resend_runs_the_same_queries_for_every_address(background, mailoutbox):
    unverified = UserFactory(email="unverified@example.com", unverified=True)
    verified = UserFactory(email="verified@example.com")
    oidc = UserFactory(email="oidc.resend@example.com", oidc_only=True, unverified=True)
    counts = {
        "unverified": _queries_of(RESEND, unverified.email),
        "unknown": _queries_of(RESEND, "nobody@example.com"),
        "verified": _queries_of(RESEND, verified.email),
        "oidc-only": _queries_of(RESEND, oidc.email),
    }
    assert len(set(counts.values())) == 1, counts
    assert emails.outbox_wait(timeout=30)
    assert sorted(message.to[0] for message in mailoutbox) == [oidc.email, unverified.email]


def test_codes_background_reset_code_arrives_and_resets_the_password(background, mailoutbox):
    user = UserFactory(email="reset.me@example.com")
    assert _post(RESET, user.email).status_code == 202
    assert emails.outbox_wait(timeout=30)
    assert [message.to for message in mailoutbox] == [[user.email]]
    code = code_from_mail(mailoutbox[0])
    body = {"email": user.email, "code": code, "new_password": NEW_PASSWORD}
    assert APIClient().post(RESET_CONFIRM, body, format="json").status_code == 200
    assert login(APIClient(), user.email, NEW_PASSWORD).status_code == 200
    assert login(APIClient(), user.email, DEFAULT_PASSWORD).status_code == 401


def test_codes_background_resend_invalidates_the_older_code_and_the_new_one_confirms(background, mailoutbox):
    user = UserFactory(email="late@example.com", unverified=True)
    assert _post(RESEND, user.email).status_code == 202
    assert emails.outbox_wait(timeout=30)
    first = code_from_mail(mailoutbox[-1])
    with time_machine.travel(time.time() + 61):  # past the 60-second cooldown
        assert _post(RESEND, "LATE@example.com").status_code == 202
        assert emails.outbox_wait(timeout=30)
    second = code_from_mail(mailoutbox[-1])
    assert len(mailoutbox) == 2
    assert EmailCode.objects.filter(user=user, used_at=None).count() == 1
    client = APIClient()
    if first != second:
        assert client.post(CONFIRM, {"email": user.email, "confirmation_code": first}, format="json").status_code == 400
    assert client.post(CONFIRM, {"email": user.email, "confirmation_code": second}, format="json").status_code == 200
    assert User.objects.get(pk=user.pk).email_verified


def test_codes_background_no_code_for_unknown_oidc_or_verified_addresses(background, mailoutbox):
    oidc = UserFactory(email="oidc.only@example.com", oidc_only=True)
    verified = UserFactory(email="done@example.com")
    for path, email in [(RESET, "ghost@example.com"), (RESET, oidc.email), (RESEND, verified.email),
                        (RESEND, "ghost@example.com")]:  # fmt: skip
        assert _post(path, email).status_code == 202
    assert emails.outbox_wait(timeout=30)
    assert mailoutbox == []
    assert not EmailCode.objects.exists()


def test_codes_background_mail_server_down_answers_202_and_still_issues_the_code(smtp_down, caplog):
    caplog.set_level(logging.WARNING, logger="accounts.emails")
    reset_user = UserFactory(email="known.reset@example.com")
    resend_user = UserFactory(email="known.resend@example.com", unverified=True)
    answers = [
        _post(RESET, reset_user.email),
        _post(RESET, "unknown.reset@example.com"),
        _post(RESEND, resend_user.email),
        _post(RESEND, "unknown.resend@example.com"),
    ]
    assert [answer.status_code for answer in answers] == [202] * 4
    assert len({answer.content for answer in answers}) == 1
    assert emails.outbox_wait(timeout=60)
    assert EmailCode.objects.filter(user=reset_user, purpose=EmailCode.Purpose.RESET_PASSWORD).count() == 1
    assert EmailCode.objects.filter(user=resend_user, purpose=EmailCode.Purpose.CONFIRM_EMAIL).count() == 1
    gave_up = [record for record in caplog.records if "gave up after 4 attempts" in record.getMessage()]
    assert len(gave_up) == 2  # one mail per known address, each tried four times


def test_codes_background_a_failing_job_is_logged_and_the_worker_goes_on(background, caplog):
    caplog.set_level(logging.ERROR, logger="accounts.emails")
    done = []

    def broken():
        raise RuntimeError("boom")

    emails.background_on_commit(broken)
    emails.background_on_commit(lambda: done.append(True))
    assert emails.outbox_wait(timeout=30)
    assert done == [True]
    failures = [record.getMessage() for record in caplog.records if record.name == "accounts.emails"]
    assert len(failures) == 1 and "RuntimeError: boom" in failures[0]


def test_codes_background_worker_keeps_no_database_connection_between_jobs(background):
    seen = []
    emails.background_on_commit(lambda: seen.append(User.objects.count()))
    emails.background_on_commit(lambda: seen.append(connections["default"].connection is None))
    assert emails.outbox_wait(timeout=30)
    assert seen == [0, True]
