"""Stored secrets under Fernet (SPEC §1.1, §6): the newest key encrypts, every listed key decrypts."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from accounts import encryption


def test_encryption_round_trip_and_rotation_across_key_lists(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    token = encryption.encrypt("sk-live-secret")
    assert "sk-live-secret" not in token and encryption.decrypt(token) == "sk-live-secret"
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert encryption.decrypt(token) == "sk-live-secret" and not encryption.is_current(token)
    rotated = encryption.rotate(token)
    assert encryption.is_current(rotated)
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert encryption.decrypt(rotated) == "sk-live-secret"
    with pytest.raises(encryption.InvalidToken):
        encryption.decrypt(token)


def test_encryption_without_keys_uses_one_derived_from_the_secret(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    token = encryption.encrypt("sk-x")
    assert encryption.decrypt(token) == "sk-x"
    settings.SECRET_KEY = "another-secret-" + "x" * 40
    with pytest.raises(encryption.InvalidToken):
        encryption.decrypt(token)


def test_encryption_malformed_keys_fail_the_system_check(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(SystemCheckError, match="accounts.E001"):
        call_command("check")


def test_encryption_what_was_stored_before_keys_were_set_stays_readable_and_rotates(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    token = encryption.encrypt("sk-early")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert encryption.decrypt(token) == "sk-early" and not encryption.is_current(token)
    assert encryption.is_current(encryption.rotate(token))
