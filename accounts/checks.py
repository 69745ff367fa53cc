"""Deployment checks of the signing keys (`manage.py check --deploy`; registered in `AccountsConfig.ready`)."""

from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import Error, Warning

from mdcreator import keys


def signing_keys_check(app_configs, **kwargs) -> list[Warning]:
    """Warn when a deployment signs with the embedded default's generated key or reuses one key twice."""
    found: list[Warning] = []
    missing = keys.missing_keys(dict(os.environ))
    if missing:
        found.append(
            Warning(
                f"{', '.join(missing)} not set: the embedded default signs with a key generated under "
                f"{settings.VAR_DIR}. Production settings refuse to start without both.",
                hint="Set DJANGO_SECRET_KEY and JWT_SIGNING_KEY to distinct long random values.",
                id="accounts.W001",
            )
        )
    if settings.JWT_SIGNING_KEY == settings.SECRET_KEY:
        found.append(
            Warning(
                "JWT_SIGNING_KEY equals DJANGO_SECRET_KEY: a leak of one key forges both sessions and access tokens.",
                hint="Give JWT_SIGNING_KEY a value of its own.",
                id="accounts.W002",
            )
        )
    elif len(settings.JWT_SIGNING_KEY) < 32:
        found.append(
            Warning("JWT_SIGNING_KEY is shorter than 32 characters.", hint="Use a long random value.", id="accounts.W003")
        )
    return found


def field_encryption_check(app_configs, **kwargs) -> list[Error]:
    """Refuse malformed `FIELD_ENCRYPTION_KEYS` at start-up, before a user's key is stored under them."""
    from django.core.exceptions import ImproperlyConfigured

    from accounts import encryption

    try:
        encryption.check_keys()
    except ImproperlyConfigured as error:
        return [Error(str(error), hint="Generate keys with cryptography's Fernet.generate_key().", id="accounts.E001")]
    return []
