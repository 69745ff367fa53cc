"""The account export lists AI keys (never their secret) and usage; erasure deletes both (SPEC §3.1)."""

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet

from accounts import encryption
from accounts.exports import user_export
from accounts.models import ApiKey, UsageMetric
from accounts.services.erasure import user_delete
from accounts.tests.factories import UserFactory
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db

SECRET = "sk-ant-api03-Export-Never-Shows-7QzX"
KEY_FIELDS = {
    "id", "provider", "name", "description", "last4", "is_active", "is_valid", "usage_count", "last_used_at",
    "created_at", "revoked_at",
}


@pytest.fixture(autouse=True)
def _encryption_keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]


def stored_key(user, secret: str = SECRET, **fields) -> ApiKey:
    return ApiKey.objects.create(
        user=user, provider=fields.pop("provider", "anthropic"), encrypted_key=encryption.encrypt(secret),
        key_hash=hashlib.sha256(secret.encode()).hexdigest(), last4=secret[-4:], **fields,
    )


def usage(user, start, **fields) -> UsageMetric:
    fields.setdefault("metric_type", UsageMetric.MetricType.AI_TOKEN)
    fields.setdefault("value", 42)
    return UsageMetric.objects.create(user=user, period_start=start, period_end=start + timedelta(seconds=5), **fields)


def test_export_erasure_ai_export_lists_keys_without_their_secret():
    owner = UserFactory()
    used_at = datetime(2026, 4, 2, 8, 0, tzinfo=UTC)
    key = stored_key(owner, name="Claude", description="drafts", usage_count=3, last_used_at=used_at)
    stored_key(UserFactory(), "sk-someone-elses-key-Wq7Z")
    document = user_export(user=owner)
    assert document["api_keys"] == [{
        "id": str(key.pk), "provider": "anthropic", "name": "Claude", "description": "drafts", "last4": "7QzX",
        "is_active": True, "is_valid": True, "usage_count": 3, "last_used_at": "2026-04-02T08:00:00.000Z",
        "created_at": document["api_keys"][0]["created_at"], "revoked_at": None,
    }]
    assert set(document["api_keys"][0]) == KEY_FIELDS
    text = json.dumps(document)
    assert SECRET not in text and key.encrypted_key not in text and key.key_hash not in text
    assert "encrypted_key" not in text and "key_hash" not in text and "Wq7Z" not in text


def test_export_erasure_ai_export_lists_the_users_usage_oldest_first():
    owner = UserFactory()
    workspace = workspace_create(owner=owner, name="Research")
    later = usage(owner, datetime(2026, 4, 2, 9, tzinfo=UTC), value=7, metric_type="storage")
    first = usage(owner, datetime(2026, 4, 1, 9, tzinfo=UTC), workspace=workspace,
                  metadata={"provider": "openai", "model": "gpt-4o-mini", "key_source": "server", "status": "success"})
    usage(UserFactory(), datetime(2026, 4, 1, 10, tzinfo=UTC))
    assert user_export(user=owner)["usage"] == [
        {"metric_type": "ai_token", "value": 42, "metadata": first.metadata, "period_start": "2026-04-01T09:00:00.000Z",
         "period_end": "2026-04-01T09:00:05.000Z", "workspace_id": str(workspace.pk)},
        {"metric_type": "storage", "value": 7, "metadata": later.metadata, "period_start": "2026-04-02T09:00:00.000Z",
         "period_end": "2026-04-02T09:00:05.000Z", "workspace_id": None},
    ]


def test_export_erasure_ai_export_without_keys_or_usage_has_empty_sections():
    document = user_export(user=UserFactory())
    assert document["api_keys"] == [] and document["usage"] == []
    assert list(document)[-3:] == ["sessions", "api_keys", "usage"]


def test_export_erasure_ai_erasure_deletes_keys_and_usage_of_that_user_only():
    owner, other = UserFactory(), UserFactory()
    stored_key(owner)
    stored_key(owner, "sk-revoked-once-1111", is_active=False)
    usage(owner, datetime(2026, 4, 1, tzinfo=UTC))
    kept_key = stored_key(other)
    kept_usage = usage(other, datetime(2026, 4, 1, tzinfo=UTC))
    user_delete(user=owner)
    assert not ApiKey.objects.filter(user=owner).exists()
    assert not UsageMetric.objects.filter(user=owner).exists()
    assert list(ApiKey.objects.values_list("pk", flat=True)) == [kept_key.pk]
    assert list(UsageMetric.objects.values_list("pk", flat=True)) == [kept_usage.pk]
