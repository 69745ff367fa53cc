"""Encryption of stored secrets (users' AI provider keys, SPEC §1.1 and §6) with Fernet.

`FIELD_ENCRYPTION_KEYS` lists Fernet keys, newest first: the newest encrypts, every one decrypts, so a key
can be rotated in (`manage.py rotate_encryption_key` re-encrypts under the newest) and retired once nothing
uses it. Unset, one key derived from the server's secret (`DJANGO_SECRET_KEY`, itself generated on first start
in the embedded default) is used, and it stays readable once keys are set: nothing written in the code
encrypts anything.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["InvalidToken", "decrypt", "encrypt", "is_current", "rotate"]


def _derived_key(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mdcreator field encryption")
    return base64.urlsafe_b64encode(hkdf.derive(secret.encode("utf-8", "surrogatepass")))


@functools.cache
def _fernets(keys: tuple[str, ...], secret: str) -> tuple[MultiFernet, Fernet]:
    """(every key, the newest). The key derived from the secret always decrypts, last: what was stored before
    `FIELD_ENCRYPTION_KEYS` was set stays readable, and `rotate_encryption_key` moves it under the newest."""
    try:
        configured = [Fernet(key.strip().encode()) for key in keys if key.strip()]
    except ValueError as error:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key (32 url-safe base64-encoded bytes)."
        ) from error
    fernets = [*configured, Fernet(_derived_key(secret))]
    return MultiFernet(fernets), fernets[0]


def _current() -> tuple[MultiFernet, Fernet]:
    return _fernets(tuple(settings.FIELD_ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(text: str) -> str:
    """`text` encrypted under the newest key."""
    return _current()[0].encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext of `token`; `InvalidToken` when no configured key opens it."""
    return _current()[0].decrypt(token.encode()).decode()


def is_current(token: str) -> bool:
    """Whether `token` is already encrypted under the newest key (a rotation can skip it)."""
    try:
        _current()[1].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """`token` re-encrypted under the newest key; `InvalidToken` when no configured key opens it."""
    return _current()[0].rotate(token.encode()).decode()


def check_keys() -> None:
    """Raise `ImproperlyConfigured` when a configured key is malformed."""
    _current()
