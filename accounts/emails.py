"""Account emails, sent after the surrounding transaction commits."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from accounts.models import EmailCode, User

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
