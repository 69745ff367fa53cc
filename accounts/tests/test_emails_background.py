"""Emails leave in a background thread after the commit: a slow or dead mail server never changes an answer."""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from pathlib import Path

import httpx
import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocMemBackend

from accounts import emails
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import code_from_mail
from collab.tests.conftest import DaphneProcess, database_url_of_tests

# Real commits: `on_commit` runs inside the request, as in production.
pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
RESET = "/api/v1/auth/password/reset"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
SMTP = "django.core.mail.backends.smtp.EmailBackend"


def _closed_port() -> int:
    """A local port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FlakyBackend(BaseEmailBackend):
    """A mail server that refuses the first `failures` deliveries, then accepts (into the locmem outbox)."""

    failures = 2
    calls = 0

    def send_messages(self, email_messages):
        FlakyBackend.calls += 1
        if FlakyBackend.calls <= FlakyBackend.failures:
            raise ConnectionRefusedError("mail server busy")
        return LocMemBackend().send_messages(email_messages)


@pytest.fixture
def smtp_down(background):
    background.EMAIL_DELIVERY_BACKEND = SMTP
    background.EMAIL_HOST, background.EMAIL_PORT = "127.0.0.1", _closed_port()
    background.EMAIL_USE_TLS = background.EMAIL_USE_SSL = False
    return background


def _reset(api_client, email: str):
    return api_client.post(RESET, {"email": email}, format="json")


def test_emails_background_reset_code_arrives_after_the_answer(background, api_client, mailoutbox):
    user = UserFactory(email="reset.me@example.com")
    assert _reset(api_client, user.email).status_code == 202
    assert emails.outbox_wait(timeout=30)
    assert [message.to for message in mailoutbox] == [[user.email]]
    assert mailoutbox[0].subject == "Reset your MD Creator password"
    assert re.fullmatch(r"\d{6}", code_from_mail(mailoutbox[0]))


def test_emails_background_mail_server_down_answers_202_for_known_and_unknown(smtp_down, api_client, caplog):
    caplog.set_level(logging.WARNING, logger="accounts.emails")
    user = UserFactory(email="known@example.com")
    known = _reset(api_client, user.email)
    unknown = _reset(api_client, "nobody@example.com")
    assert (known.status_code, unknown.status_code) == (202, 202)
    assert known.json() == unknown.json()
    assert emails.outbox_wait(timeout=30)
    failures = [record for record in caplog.records if record.name == "accounts.emails"]
    assert [record.levelno for record in failures] == [logging.WARNING] * 3 + [logging.ERROR]  # 1 try + 3 retries
    assert "gave up after 4 attempts" in failures[-1].getMessage()
    assert all(user.email not in record.getMessage() for record in failures)  # no address in the logs


def test_emails_background_retries_with_backoff_then_delivers(background, mailoutbox, caplog):
    caplog.set_level(logging.WARNING, logger="accounts.emails")
    background.EMAIL_DELIVERY_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.calls = 0
    assert mail.send_mail("Hello", "Body", None, ["retry@example.com"]) == 1  # queued
    assert emails.outbox_wait(timeout=30)
    assert FlakyBackend.calls == 3
    assert [message.to for message in mailoutbox] == [["retry@example.com"]]
    assert len([record for record in caplog.records if record.name == "accounts.emails"]) == 2


def test_emails_background_sender_survives_a_message_it_gave_up_on(smtp_down, mailoutbox):
    mail.send_mail("Lost", "Body", None, ["lost@example.com"])
    assert emails.outbox_wait(timeout=30)
    smtp_down.EMAIL_DELIVERY_BACKEND = LOCMEM
    mail.send_mail("Found", "Body", None, ["found@example.com"])
    assert emails.outbox_wait(timeout=30)
    assert [message.subject for message in mailoutbox] == ["Found"]


def test_emails_background_invitation_mail_goes_the_same_way(background, auth_client, user, mailoutbox):
    """Every sender calls `send_mail` in `on_commit`; the configured backend puts it in the background."""
    workspace = auth_client.post("/api/v1/workspaces", {"name": "Team"}, format="json").json()
    invited = auth_client.post(
        f"/api/v1/workspaces/{workspace['id']}/members/invite", {"email": "guest@example.com", "role": "editor"},
        format="json",
    )
    assert invited.status_code == 201
    assert emails.outbox_wait(timeout=30)
    assert [message.to for message in mailoutbox] == [["guest@example.com"]]


# --- a real server with its mail server down (EMAIL_URL at a port nobody listens on) ---------------


@pytest.fixture
def server_without_mail(tmp_path):
    """daphne on the test database, as production starts it, its SMTP server unreachable."""
    env = dict(os.environ, DATABASE_URL=database_url_of_tests(), MDCREATOR_VAR_DIR=str(tmp_path),
               EMAIL_URL=f"smtp://127.0.0.1:{_closed_port()}", EMAIL_RETRY_BACKOFF_SECONDS="0.05")
    env.pop("EMAIL_BACKEND", None)
    process = DaphneProcess(env).start()
    try:
        yield process.http, process.log
    finally:
        process.stop()


@pytest.mark.live
def test_emails_background_live_server_answers_202_with_the_mail_server_down(server_without_mail):
    base, log_path = server_without_mail
    user = UserFactory(email="live.known@example.com")
    known = httpx.post(f"{base}{RESET}", json={"email": user.email}, timeout=30)
    unknown = httpx.post(f"{base}{RESET}", json={"email": "live.unknown@example.com"}, timeout=30)
    assert (known.status_code, unknown.status_code) == (202, 202), known.text
    for _ in range(300):
        if "gave up after 4 attempts" in log_path.read_text():
            break
        time.sleep(0.1)
    log = log_path.read_text()
    assert log.count("accounts.emails") == 4, log  # three failed tries logged as warnings, then the error
