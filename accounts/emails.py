"""Emails and the process's background worker: mail is queued after the commit and sent by a daemon thread.

Every sender calls `send_mail` inside `transaction.on_commit`. `EMAIL_BACKEND` is `BackgroundEmailBackend`,
which only queues; one daemon thread of the process, started with the first job, hands each message to
the real backend (`EMAIL_DELIVERY_BACKEND`: SMTP from `EMAIL_URL`, console, ...), retrying a failure
`EMAIL_SEND_RETRIES` times with exponential backoff and logging each failure. So a slow or dead mail server
never changes an answer or its timing.

The same thread runs other jobs queued with `background_on_commit`: work that must not happen inside a
request because its cost would tell the caller something, such as issuing a code only when an account
exists. Jobs still queued when the process exits get a few seconds to finish.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import smtplib
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import close_old_connections, connections, transaction
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


class _Worker:
    """Jobs waiting for the worker thread, each with the context it was queued from (its log lines keep the
    request's trace id); `pending` counts those queued or running."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.queue: deque = deque()
        self.pending = 0
        self.thread: threading.Thread | None = None

    def put(self, jobs: list[Callable[[], None]]) -> None:
        with self.changed:
            context = contextvars.copy_context()
            self.queue.extend((job, context) for job in jobs)
            self.pending += len(jobs)
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="background-worker", daemon=True)
                self.thread.start()
            self.changed.notify_all()

    def wait(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.pending == 0, timeout)

    def _run(self) -> None:
        while True:
            with self.changed:
                self.changed.wait_for(lambda: self.queue)
                job, context = self.queue.popleft()
            try:
                context.run(_run_job, job)
            finally:
                with self.changed:
                    self.pending -= 1
                    self.changed.notify_all()


_worker = _Worker()


def _run_job(job: Callable[[], None]) -> None:
    """Run one job as a request runs: a usable connection, handed back afterwards; a failure is logged."""
    close_old_connections()
    try:
        job()
    except Exception as exc:  # one broken job must not stop the worker or the jobs queued behind it
        logger.error("background job %s failed: %s", _job_name(job), _reason(exc))
    finally:
        # Between jobs the thread holds no connection: none left idle in a transaction, none kept from the pool.
        connections.close_all()


def _job_name(job: Callable[[], None]) -> str:
    function = getattr(job, "func", job)  # a functools.partial names its function
    return getattr(function, "__qualname__", type(function).__name__)


def background_on_commit(job: Callable[[], None]) -> None:
    """Queue `job` for the background worker once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: _worker.put([job]))


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
            logger.warning(
                "%s: attempt %d of %d failed, retrying in %.2f s: %s", about, attempt, attempts, delay, reason
            )
            time.sleep(delay)


def _reason(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):  # its text lists the addresses
        return "SMTPRecipientsRefused: the server refused every recipient"
    return f"{type(exc).__name__}: {exc}"


def outbox_wait(timeout: float = 30.0) -> bool:
    """Block until every queued job ran and every message was delivered or given up on; False if `timeout`
    seconds passed first."""
    return _worker.wait(timeout)


class BackgroundEmailBackend(BaseEmailBackend):
    """`EMAIL_BACKEND`: queue the messages for the background worker and return at once (the count queued)."""

    def send_messages(self, email_messages) -> int:
        messages = list(email_messages or ())
        if messages:
            _worker.put([partial(_deliver, message) for message in messages])
        return len(messages)


atexit.register(outbox_wait, EXIT_GRACE_SECONDS)
