"""Emails: rendered in the request, queued after the transaction commits, sent by a background thread.

Every sender calls `send_mail` inside `transaction.on_commit`. `EMAIL_BACKEND` is `BackgroundEmailBackend`,
which only queues; one daemon thread of the process, started with the first message, hands each message to
the real backend (`EMAIL_DELIVERY_BACKEND`: SMTP from `EMAIL_URL`, console, ...), retrying a failure
`EMAIL_SEND_RETRIES` times with exponential backoff and logging each failure. So a slow or dead mail server
never changes an answer or its timing: a password reset for a registered address answers as one for an
unknown address does. Messages still queued when the process exits get a few seconds to leave.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import smtplib
import threading
import time
from collections import deque

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.template.loader import render_to_string

from accounts.models import EmailCode, User

logger = logging.getLogger(__name__)

EXIT_GRACE_SECONDS = 10.0

_TEMPLATES = {
    EmailCode.Purpose.CONFIRM_EMAIL: ("Confirm your MD Creator account", "accounts/email/confirm_email.txt"),
    EmailCode.Purpose.RESET_PASSWORD: ("Reset your MD Creator password", "accounts/email/reset_password.txt"),
}


def send_code_on_commit(*, user: User, purpose: str, code: str, valid_for_minutes: int) -> None:
    """Mail `code` to `user` once the transaction that issued it has committed."""
    subject, template = _TEMPLATES[purpose]
    body = render_to_string(
        template,
        {"user": user, "code": code, "valid_for_minutes": valid_for_minutes, "frontend_url": settings.FRONTEND_URL},
    )
    recipient = user.email
    transaction.on_commit(lambda: send_mail(subject, body, None, [recipient]))


class _Outbox:
    """Messages waiting for the sender thread, each with the context it was sent from (its log lines keep the
    request's trace id); `pending` counts those queued or being delivered."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.queue: deque = deque()
        self.pending = 0
        self.thread: threading.Thread | None = None

    def put(self, messages) -> None:
        with self.changed:
            context = contextvars.copy_context()
            self.queue.extend((message, context) for message in messages)
            self.pending += len(messages)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="email-sender", daemon=True)
                self.thread.start()
            self.changed.notify_all()

    def wait(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.pending == 0, timeout)

    def _run(self) -> None:
        while True:
            with self.changed:
                self.changed.wait_for(lambda: self.queue)
                message, context = self.queue.popleft()
            try:
                context.run(_deliver, message)
            finally:
                with self.changed:
                    self.pending -= 1
                    self.changed.notify_all()


_outbox = _Outbox()


def _deliver(message) -> None:
    """Send one message through the delivery backend: retried with backoff, every failure logged, never raises."""
    attempts = 1 + settings.EMAIL_SEND_RETRIES
    # Subjects carry no code or link (bodies do); addresses stay out of the logs.
    about = f"email {message.subject!r} to {len(message.recipients())} recipient(s)"
    for attempt in range(1, attempts + 1):
        try:
            get_connection(settings.EMAIL_DELIVERY_BACKEND, fail_silently=False).send_messages([message])
            return
        except Exception as exc:  # any failure of the mail server or its backend: retry, then give up
            reason = _reason(exc)
            if attempt == attempts:
                logger.error("%s: gave up after %d attempts: %s", about, attempts, reason)
                return
            delay = settings.EMAIL_RETRY_BACKOFF_SECONDS * 2 ** (attempt - 1)
            logger.warning("%s: attempt %d of %d failed, retrying in %.2f s: %s", about, attempt, attempts, delay, reason)
            time.sleep(delay)


def _reason(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # its text lists the addresses
        return "SMTPRecipientsRefused: the server refused every recipient"
    return f"{type(exc).__name__}: {exc}"


def outbox_wait(timeout: float = 30.0) -> bool:
    """Block until every queued message was delivered or given up on; False if `timeout` seconds passed first."""
    return _outbox.wait(timeout)


class BackgroundEmailBackend(BaseEmailBackend):
    """`EMAIL_BACKEND`: queue the messages for the sender thread and return at once (the count queued)."""

    def send_messages(self, email_messages) -> int:
        messages = list(email_messages or ())
        if messages:
            _outbox.put(messages)
        return len(messages)


atexit.register(outbox_wait, EXIT_GRACE_SECONDS)
