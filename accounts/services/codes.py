"""Emailed one-time codes: confirmation and password reset (SPEC §3.1)."""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from functools import partial

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.emails import background_on_commit, send_code_on_commit
from accounts.models import EmailCode, RefreshToken, User
from accounts.services.sessions import sessions_revoke_all
from mdcreator import errors

CODE_LIFETIME = {
    EmailCode.Purpose.CONFIRM_EMAIL: timedelta(hours=24),
    EmailCode.Purpose.RESET_PASSWORD: timedelta(hours=1),
}


def _code_hash(*, user_id, purpose: str, code: str) -> str:
    """HMAC-sha256 of the code, keyed by the server secret and bound to user and purpose."""
    return salted_hmac("accounts.email-code", f"{user_id}:{purpose}:{code}", algorithm="sha256").hexdigest()


@transaction.atomic
def email_code_issue(*, user: User, purpose: str) -> str:
    """Invalidate older unused codes of this purpose, store a new one and mail it."""
    now = timezone.now()
    EmailCode.objects.filter(user=user, purpose=purpose, used_at__isnull=True).update(used_at=now)
    code = f"{secrets.randbelow(1_000_000):06d}"
    lifetime = CODE_LIFETIME[purpose]
    EmailCode.objects.create(
        user=user,
        purpose=purpose,
        code_hash=_code_hash(user_id=user.pk, purpose=purpose, code=code),
        expires_at=now + lifetime,
        created_at=now,
    )
    send_code_on_commit(user=user, purpose=purpose, code=code, valid_for_minutes=int(lifetime.total_seconds() // 60))
    return code


def _check_code(*, email: str, purpose: str, code: str) -> tuple[User, EmailCode] | errors.ProblemError:
    """Find the live code for `email` and compare; a wrong guess counts an attempt.

    Runs inside the caller's transaction with the code row locked, so
    concurrent guesses cannot exceed the attempt budget.
    """
    now = timezone.now()
    record = (
        EmailCode.objects
        .select_for_update()
        .select_related("user")
        .filter(user__email=email.strip().lower(), purpose=purpose, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if record is None or record.attempts >= EmailCode.MAX_ATTEMPTS:
        return errors.InvalidCodeError()
    expected = _code_hash(user_id=record.user_id, purpose=purpose, code=code)
    if not hmac.compare_digest(expected, record.code_hash):
        record.attempts += 1
        fields = ["attempts"]
        if record.attempts >= EmailCode.MAX_ATTEMPTS:
            record.used_at = now  # burnt: a new code has to be requested
            fields.append("used_at")
        record.save(update_fields=fields)
        return errors.InvalidCodeError()
    return record.user, record


def email_confirm(*, email: str, code: str) -> User:
    """Mark the address verified when `code` is the live confirmation code."""
    outcome = _confirm(email=email, code=code)
    if isinstance(outcome, errors.ProblemError):
        raise outcome
    return outcome


@transaction.atomic
def _confirm(*, email: str, code: str) -> User | errors.ProblemError:
    checked = _check_code(email=email, purpose=EmailCode.Purpose.CONFIRM_EMAIL, code=code)
    if isinstance(checked, errors.ProblemError):
        return checked
    user, record = checked
    record.used_at = timezone.now()
    record.save(update_fields=["used_at"])
    user.email_verified = True
    user.save(update_fields=["email_verified", "updated_at"])
    return user


def _local_user_by_email(email: str) -> User | None:
    return User.objects.filter(email=email.strip().lower(), is_active=True, deleted_at__isnull=True).first()


def confirmation_resend(*, email: str) -> None:
    """Queue a fresh confirmation code for `email`; the worker mails it only to an unverified account."""
    background_on_commit(partial(_confirmation_resend_job, email=email))


def password_reset_request(*, email: str) -> None:
    """Queue a reset code for `email`; the worker mails it only to a local account (one with a password)."""
    background_on_commit(partial(_password_reset_job, email=email))


# The request only queues these, for every address alike: looking the account up and issuing the code in the
# request would make the answer for a registered address measurably slower, telling who has an account.


def _confirmation_resend_job(*, email: str) -> None:
    user = _local_user_by_email(email)
    if user is not None and not user.email_verified:
        email_code_issue(user=user, purpose=EmailCode.Purpose.CONFIRM_EMAIL)


def _password_reset_job(*, email: str) -> None:
    user = _local_user_by_email(email)
    if user is not None and user.has_usable_password():
        email_code_issue(user=user, purpose=EmailCode.Purpose.RESET_PASSWORD)


def password_reset_confirm(*, email: str, code: str, new_password: str) -> User:
    """Set a new password with a live reset code; every session is signed out."""
    outcome = _reset(email=email, code=code, new_password=new_password)
    if isinstance(outcome, errors.ProblemError):
        raise outcome
    return outcome


@transaction.atomic
def _reset(*, email: str, code: str, new_password: str) -> User | errors.ProblemError:
    checked = _check_code(email=email, purpose=EmailCode.Purpose.RESET_PASSWORD, code=code)
    if isinstance(checked, errors.ProblemError):
        return checked
    user, record = checked
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        # The code stays usable: the user may pick a better password.
        return errors.ValidationProblem({"new_password": list(exc.messages)})
    record.used_at = timezone.now()
    record.save(update_fields=["used_at"])
    user.set_password(new_password)
    # Receiving the code proves the mailbox is the user's.
    user.email_verified = True
    user.save(update_fields=["password", "email_verified", "updated_at"])
    sessions_revoke_all(user=user, reason=RefreshToken.RevokeReason.PASSWORD_CHANGE)
    return user


@transaction.atomic
def email_code_revoke(*, code: EmailCode) -> bool:
    """Mark an unused code used so it can no longer be redeemed; False if it already was."""
    updated = EmailCode.objects.filter(pk=code.pk, used_at__isnull=True).update(used_at=timezone.now())
    return bool(updated)
