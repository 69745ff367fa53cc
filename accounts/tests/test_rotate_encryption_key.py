"""rotate_encryption_key: re-encrypt stored API keys under the newest key, in batches, safely repeatable."""

import hashlib
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from accounts import encryption
from accounts.models import ApiKey
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def new_key() -> str:
    return Fernet.generate_key().decode()


def store(user, secret: str) -> ApiKey:
    """A key stored under whatever FIELD_ENCRYPTION_KEYS says now."""
    return ApiKey.objects.create(
        user=user, provider="openai", encrypted_key=encryption.encrypt(secret),
        key_hash=hashlib.sha256(secret.encode()).hexdigest(), last4=secret[-4:],
    )


def run(*args) -> str:
    out = StringIO()
    call_command("rotate_encryption_key", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def old_keys(settings):
    """Five keys stored under an old key; the settings then list a new key first, the old one after it."""
    old = new_key()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    owner = UserFactory()
    secrets = {store(owner, f"sk-rotate-{n:04d}").pk: f"sk-rotate-{n:04d}" for n in range(5)}
    settings.FIELD_ENCRYPTION_KEYS = [new_key(), old]
    return secrets


def ciphertexts() -> dict:
    return dict(ApiKey.objects.values_list("pk", "encrypted_key"))


def test_rotate_encryption_key_moves_every_key_to_the_newest(old_keys, settings):
    output = run("--batch-size", "2")
    assert [line for line in output.splitlines() if line.startswith("rotated")] == [
        "rotated 2 of 5", "rotated 4 of 5", "rotated 5 of 5",
    ]
    assert "Done: rotated 5 of 5 stored key(s); 0 unreadable." in output
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]  # the old key retired
    for key in ApiKey.objects.all():
        assert encryption.is_current(key.encrypted_key)
        assert encryption.decrypt(key.encrypted_key) == old_keys[key.pk]


def test_rotate_encryption_key_second_run_rotates_nothing(old_keys):
    run()
    after_first = ciphertexts()
    output = run("--batch-size", "3")
    assert "Done: rotated 0 of 5 stored key(s); 0 unreadable." in output
    assert ciphertexts() == after_first


def test_rotate_encryption_key_skips_keys_already_current(old_keys):
    fresh = store(UserFactory(), "sk-already-new-0001")
    before = fresh.encrypted_key
    assert "Done: rotated 5 of 6 stored key(s)" in run()
    fresh.refresh_from_db()
    assert fresh.encrypted_key == before


def test_rotate_encryption_key_dry_run_counts_and_changes_nothing(old_keys):
    before = ciphertexts()
    output = run("--dry-run", "--batch-size", "4")
    assert "would rotate 4 of 5" in output and "Done: would rotate 5 of 5 stored key(s); 0 unreadable." in output
    assert ciphertexts() == before


def test_rotate_encryption_key_revoked_keys_have_nothing_to_rotate(old_keys):
    revoked = next(iter(old_keys))
    ApiKey.objects.filter(pk=revoked).update(encrypted_key="", is_active=False)
    assert "Done: rotated 4 of 4 stored key(s)" in run()
    assert ApiKey.objects.get(pk=revoked).encrypted_key == ""


def test_rotate_encryption_key_unreadable_key_is_reported_left_alone_and_fails(old_keys, settings):
    configured = list(settings.FIELD_ENCRYPTION_KEYS)
    settings.FIELD_ENCRYPTION_KEYS = [new_key()]  # a key nobody kept
    lost = store(UserFactory(), "sk-lost-key-0404")
    settings.FIELD_ENCRYPTION_KEYS = configured
    out = StringIO()
    with pytest.raises(CommandError, match=rf"1 stored key\(s\) could not be opened .*{lost.pk}") as refusal:
        call_command("rotate_encryption_key", "--batch-size", "2", stdout=out)
    assert refusal.value.returncode == 1
    assert "Done: rotated 5 of 6 stored key(s); 1 unreadable." in out.getvalue()
    assert ApiKey.objects.get(pk=lost.pk).encrypted_key == lost.encrypted_key
    assert all(encryption.decrypt(ApiKey.objects.get(pk=pk).encrypted_key) == s for pk, s in old_keys.items())


def test_rotate_encryption_key_malformed_key_is_a_command_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(CommandError, match="not a Fernet key"):
        run()


def test_rotate_encryption_key_batch_size_must_be_positive():
    with pytest.raises(CommandError, match="--batch-size"):
        run("--batch-size", "0")
