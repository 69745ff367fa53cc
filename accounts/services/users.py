"""Users: signup, profile changes, password change (SPEC §3.1)."""

from __future__ import annotations

import json
import re
import uuid

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import EmailCode, RefreshToken, User
from accounts.parts import provision_account
from accounts.services.codes import email_code_issue
from accounts.services.sessions import ClientInfo, TokenPair, session_start, sessions_revoke_all
from mdcreator import errors

USERNAME_PATTERN = re.compile(r"^[a-z0-9_.-]{3,40}$")
SETTINGS_MAX_BYTES = 16 * 1024


USERNAME_RULE = "Use 3 to 40 characters: letters, digits, '_', '.' or '-'."


def normalize_username(value: str) -> str:
    """Fold to lower case and check `^[a-z0-9_.-]{3,40}$`; raises ValueError with the rule."""
    folded = value.strip().lower()
    if not USERNAME_PATTERN.match(folded):
        raise ValueError(USERNAME_RULE)
    return folded


def _check_password(password: str, *, field: str, user: User) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise errors.ValidationProblem({field: list(exc.messages)}) from None


def _username_taken(username: str, *, exclude: uuid.UUID | None = None) -> bool:
    users = User.objects.filter(username__iexact=username)
    if exclude is not None:
        users = users.exclude(pk=exclude)
    return users.exists()


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    display_name: str = "",
    username: str | None = None,
    email_verified: bool = False,
    is_staff: bool = False,
) -> User:
    """Create an account after the uniqueness and password checks, with what every app gives it; the one way users are made."""
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise errors.EmailTakenError()
    if username is not None and _username_taken(username):
        raise errors.UsernameTakenError()
    user = User(
        email=email,
        username=username,
        display_name=(display_name.strip() or email.split("@", 1)[0])[:255],
        email_verified=email_verified,
        is_staff=is_staff,
    )
    if password is None:
        user.set_unusable_password()
    else:
        _check_password(password, field="password", user=user)
        user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        # Lost a race with a concurrent signup for the same address or name.
        if User.objects.filter(email__iexact=email).exists():
            raise errors.EmailTakenError() from None
        raise errors.UsernameTakenError() from None
    provision_account(user)  # e.g. the personal workspace every account gets
    return user


@transaction.atomic
def user_signup(
    *, email: str, password: str, display_name: str = "", username: str | None = None, client: ClientInfo
) -> tuple[User, TokenPair | None]:
    """Create a local account; with confirmation on, mail a code, else sign in at once."""
    if not settings.ACCOUNTS_SIGNUP_ENABLED:
        raise errors.SignupDisabledError()
    confirm = settings.ACCOUNTS_EMAIL_CONFIRMATION
    user = user_create(
        email=email, password=password, display_name=display_name, username=username, email_verified=not confirm
    )
    if confirm:
        email_code_issue(user=user, purpose=EmailCode.Purpose.CONFIRM_EMAIL)
        return user, None
    return user, session_start(user=user, client=client)


@transaction.atomic
def user_update_profile(*, user: User, data: dict) -> User:
    """Apply a PATCH of auth/me: plain fields replaced, `settings` merged shallowly."""
    fields: list[str] = []
    if "username" in data:
        username = data["username"]
        if username is not None and _username_taken(username, exclude=user.pk):
            raise errors.UsernameTakenError()
        user.username = username
        fields.append("username")
    for name in ("display_name", "avatar_url", "bio"):
        if name in data:
            setattr(user, name, data[name])
            fields.append(name)
    if "settings" in data:
        merged = {**user.settings, **data["settings"]}
        if len(_json_bytes(merged)) > SETTINGS_MAX_BYTES:
            raise errors.PayloadTooLargeError(f"settings must stay under {SETTINGS_MAX_BYTES} bytes.")
        user.settings = merged
        fields.append("settings")
    if fields:
        try:
            with transaction.atomic():
                user.save(update_fields=[*fields, "updated_at"])
        except IntegrityError:
            raise errors.UsernameTakenError() from None
    return user


def _json_bytes(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@transaction.atomic
def password_change(
    *, user: User, current_password: str, new_password: str, keep_session_id: uuid.UUID | None
) -> None:
    """Change a local password; every other session of the user is signed out."""
    if not user.has_usable_password():
        raise errors.ValidationProblem(
            {"current_password": ["This account signs in through its identity provider and has no password."]}
        )
    if not user.check_password(current_password):
        raise errors.InvalidCredentialsError("The current password is wrong.")
    _check_password(new_password, field="new_password", user=user)
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    sessions_revoke_all(user=user, reason=RefreshToken.RevokeReason.PASSWORD_CHANGE, keep_family_id=keep_session_id)


@transaction.atomic
def user_deactivate(*, user: User) -> int:
    """Deactivate an account and revoke every refresh family; returns how many tokens were revoked."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active", "updated_at"])
    return sessions_revoke_all(user=user, reason=RefreshToken.RevokeReason.ADMIN)


@transaction.atomic
def user_reactivate(*, user: User) -> bool:
    """Let a deactivated account sign in again; False if it was active. Erased accounts stay inactive."""
    if user.deleted_at is not None:
        raise errors.ConflictError("An erased account cannot be reactivated.")
    if user.is_active:
        return False
    user.is_active = True
    user.save(update_fields=["is_active", "updated_at"])
    return True


@transaction.atomic
def user_mark_verified(*, user: User) -> bool:
    """Mark the address verified and burn unused confirmation codes; False if it already was."""
    if user.email_verified:
        return False
    user.email_verified = True
    user.save(update_fields=["email_verified", "updated_at"])
    EmailCode.objects.filter(user=user, purpose=EmailCode.Purpose.CONFIRM_EMAIL, used_at__isnull=True).update(
        used_at=timezone.now()
    )
    return True


@transaction.atomic
def user_password_set(*, user: User, password: str | None) -> int:
    """Set a password as an operator (None removes it); every session is signed out. Returns tokens revoked."""
    if password is None:
        user.set_unusable_password()
    else:
        _check_password(password, field="password", user=user)
        user.set_password(password)
    user.save(update_fields=["password", "updated_at"])
    return sessions_revoke_all(user=user, reason=RefreshToken.RevokeReason.PASSWORD_CHANGE)
