"""Django admin for ApiKey and UsageMetric: secrets never shown, revoke, read-only usage, CSV export, flat lists."""

import csv
import hashlib
import io
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from django.urls import reverse
from django.utils import timezone

from accounts import encryption
from accounts.models import ApiKey, UsageMetric
from accounts.tests.factories import UserFactory
from accounts.tests.operators import signed_in
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db

KEYS = reverse("admin:accounts_apikey_changelist")
USAGE = reverse("admin:accounts_usagemetric_changelist")
SECRET = "sk-proj-Zq8vT3nW5yR1pL6aK0dF2hJ4gB7xC9mS"


@pytest.fixture(autouse=True)
def _encryption_keys(settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]


def stored_key(user, secret: str = SECRET, **fields) -> ApiKey:
    """A key stored the way the AI module stores one: ciphertext, hash and last four characters."""
    fields.setdefault("provider", ApiKey.Provider.OPENAI)
    return ApiKey.objects.create(
        user=user, encrypted_key=encryption.encrypt(secret), key_hash=hashlib.sha256(secret.encode()).hexdigest(),
        last4=secret[-4:], **fields,
    )


def ai_call(user, *, workspace=None, start=None, tokens=150, **metadata) -> UsageMetric:
    """One AI call's usage row with the metadata of SPEC §1.1."""
    start = start or timezone.now() - timedelta(seconds=3)
    meta = {
        "provider": "openai", "model": "gpt-4o-mini", "endpoint": "generate", "prompt_tokens": 100,
        "completion_tokens": tokens - 100, "cost_estimate_usd": 0.000045, "key_source": "server", "streamed": False,
        "status": "success", **metadata,
    }
    return UsageMetric.objects.create(
        user=user, workspace=workspace, metric_type=UsageMetric.MetricType.AI_TOKEN, value=tokens, metadata=meta,
        period_start=start, period_end=start + timedelta(seconds=2),
    )


def key_url(name: str, key) -> str:
    return reverse(f"admin:accounts_apikey_{name}", args=[key.pk])


def usage_url(name: str, row) -> str:
    return reverse(f"admin:accounts_usagemetric_{name}", args=[row.pk])


def assert_no_secret(html: str, key: ApiKey) -> None:
    assert SECRET not in html and SECRET[:-4] not in html
    assert key.encrypted_key not in html and key.key_hash not in html
    assert "encrypted_key" not in html and "Encrypted key" not in html
    assert "key_hash" not in html and "Key hash" not in html


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_ai_keys_pages_never_show_the_secret(client, operator):
    key = stored_key(UserFactory(email="keyowner@example.com"), name="Work key", description="for drafts")
    signed_in(client, operator)
    pages = [
        client.get(KEYS),
        client.get(KEYS, {"q": "keyowner@example.com"}),
        client.get(KEYS, {"q": SECRET[-4:]}),
        client.get(KEYS, {"q": "Work key"}),
        client.get(key_url("change", key)),
    ]
    for response in pages:
        html = response.content.decode()
        assert response.status_code == 200
        assert "keyowner@example.com" in html and "Work key" in html and SECRET[-4:] in html
        assert_no_secret(html, key)


@pytest.mark.parametrize("term", ["ciphertext", "hash"])
def test_admin_ai_keys_search_never_matches_the_ciphertext_or_hash(client, superuser, term):
    key = stored_key(UserFactory(email="keyowner@example.com"), name="Work key")
    query = key.encrypted_key[10:30] if term == "ciphertext" else key.key_hash[:16]
    html = signed_in(client, superuser).get(KEYS, {"q": query}).content.decode()
    assert "keyowner@example.com" not in html and "Work key" not in html
    assert "0 results" in html


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_ai_keys_read_only_for_everyone(client, operator):
    key = stored_key(UserFactory(), name="Work key")
    signed_in(client, operator)
    assert client.get(reverse("admin:accounts_apikey_add")).status_code == 403
    assert client.post(key_url("change", key), {"name": "changed", "is_active": ""}).status_code == 403
    assert client.post(key_url("delete", key), {"post": "yes"}).status_code == 403
    assert 'name="_save"' not in client.get(key_url("change", key)).content.decode()
    key.refresh_from_db()
    assert key.name == "Work key" and key.is_active and ApiKey.objects.count() == 1


def test_admin_ai_keys_staff_outside_support_group_forbidden(client):
    stored_key(UserFactory())
    staff = signed_in(client, UserFactory(is_staff=True))
    assert staff.get(KEYS).status_code == 403
    assert staff.get(USAGE).status_code == 403


@pytest.mark.parametrize(
    ("params", "expect"),
    [
        ({"provider__exact": "anthropic"}, {"claude"}),
        ({"is_active__exact": "0"}, {"revoked"}),
        ({"is_valid__exact": "0"}, {"rejected"}),
        ({"revoked": "yes"}, {"revoked"}),
        ({"revoked": "no"}, {"live", "claude", "rejected"}),
    ],
)
def test_admin_ai_keys_filters(client, superuser, params, expect):
    owner = UserFactory()
    stored_key(owner, name="live")
    stored_key(owner, "sk-ant-api03-Claude-Key-0001", name="claude", provider=ApiKey.Provider.ANTHROPIC)
    stored_key(owner, "sk-rejected-key-0002", name="rejected", is_valid=False, validation_error="rejected")
    stored_key(owner, "sk-revoked-key-0003", name="revoked", is_active=False, revoked_at=timezone.now())
    html = signed_in(client, superuser).get(KEYS, params).content.decode()
    for name in ("live", "claude", "rejected", "revoked"):
        assert (f">{name}<" in html) is (name in expect), name


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_ai_keys_revoke_wipes_the_ciphertext(client, operator):
    owner = UserFactory()
    key = stored_key(owner)
    other = stored_key(owner, "sk-other-key-kept-9999")
    response = signed_in(client, operator).post(KEYS, {"action": "revoke_keys", "_selected_action": [str(key.pk)]})
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.encrypted_key == "" and not key.is_active and key.revoked_at is not None
    assert key.last4 == SECRET[-4:]  # still recognisable in the list
    other.refresh_from_db()
    assert other.is_active and other.revoked_at is None and encryption.decrypt(other.encrypted_key).endswith("9999")


def test_admin_ai_keys_revoke_again_keeps_the_first_revocation_time(client, superuser):
    revoked_at = timezone.now() - timedelta(days=3)
    key = stored_key(UserFactory(), is_active=False, revoked_at=revoked_at)
    signed_in(client, superuser).post(KEYS, {"action": "revoke_keys", "_selected_action": [str(key.pk)]})
    key.refresh_from_db()
    assert key.revoked_at == revoked_at and key.encrypted_key == ""


def test_admin_ai_keys_revoke_support_skips_superusers_keys(client, support, superuser):
    key = stored_key(superuser)
    signed_in(client, support).post(KEYS, {"action": "revoke_keys", "_selected_action": [str(key.pk)]})
    key.refresh_from_db()
    assert key.is_active and key.revoked_at is None and encryption.decrypt(key.encrypted_key) == SECRET


def test_admin_ai_keys_revoke_forbidden_to_staff_outside_support(client):
    key = stored_key(UserFactory())
    response = signed_in(client, UserFactory(is_staff=True)).post(
        KEYS, {"action": "revoke_keys", "_selected_action": [str(key.pk)]}
    )
    assert response.status_code == 403
    key.refresh_from_db()
    assert key.is_active and encryption.decrypt(key.encrypted_key) == SECRET


def _seed_lists(first: int, last: int) -> None:
    """Keys and AI calls of people `first`..`last`, each with a workspace of their own."""
    for n in range(first, last + 1):
        owner = UserFactory()
        workspace = workspace_create(owner=owner, name=f"Space {n}")
        stored_key(owner, f"sk-list-key-{n:04d}", name=f"key {n}")
        ai_call(owner, workspace=workspace)


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
@pytest.mark.parametrize("page", [KEYS, USAGE])
def test_admin_ai_lists_query_count_does_not_grow_with_rows(client, operator, page, django_assert_max_num_queries):
    signed_in(client, operator)
    _seed_lists(1, 2)
    with django_assert_max_num_queries(12) as few:
        assert client.get(page).status_code == 200
    _seed_lists(3, 10)
    with django_assert_max_num_queries(len(few)):
        response = client.get(page)
    assert response.status_code == 200
    html = response.content.decode()
    assert all(f"{'Space' if page == USAGE else 'key'} {n}<" in html for n in range(1, 11))


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_ai_usage_list_shows_metadata_and_is_read_only(client, operator):
    owner = UserFactory(email="caller@example.com")
    workspace = workspace_create(owner=owner, name="Research")
    row = ai_call(owner, workspace=workspace, provider="anthropic", model="claude-3-5-haiku", key_source="user",
                  status="timeout")
    signed_in(client, operator)
    html = client.get(USAGE).content.decode()
    for shown in ("caller@example.com", "Research", "ai_token", "anthropic", "claude-3-5-haiku", "timeout"):
        assert shown in html
    assert client.get(usage_url("change", row)).status_code == 200
    assert client.get(reverse("admin:accounts_usagemetric_add")).status_code == 403
    assert client.post(usage_url("change", row), {"value": 1}).status_code == 403
    assert client.post(usage_url("delete", row), {"post": "yes"}).status_code == 403
    row.refresh_from_db()
    assert row.value == 150


@pytest.mark.parametrize(
    ("params", "expect"),
    [
        ({"provider": "anthropic"}, {"claude"}),
        ({"key_source": "user"}, {"own"}),
        ({"status": "error"}, {"failed"}),
        ({"metric_type__exact": "storage"}, {"disk"}),
    ],
)
def test_admin_ai_usage_filters(client, superuser, params, expect):
    people = {name: UserFactory(email=f"{name}@example.com") for name in ("plain", "claude", "own", "failed", "disk")}
    ai_call(people["plain"])
    ai_call(people["claude"], provider="anthropic", model="claude-3-5-haiku")
    ai_call(people["own"], key_source="user")
    ai_call(people["failed"], status="error")
    now = timezone.now()
    UsageMetric.objects.create(user=people["disk"], metric_type="storage", value=1024, period_start=now, period_end=now)
    html = signed_in(client, superuser).get(USAGE, params).content.decode()
    for name in people:
        assert (f"{name}@example.com" in html) is (name in expect), name


def test_admin_ai_usage_date_hierarchy_narrows_to_a_day(client, superuser):
    ai_call(UserFactory(email="then@example.com"), start=datetime(2026, 3, 14, 10, tzinfo=UTC))
    ai_call(UserFactory(email="later@example.com"), start=datetime(2026, 3, 15, 10, tzinfo=UTC))
    html = signed_in(client, superuser).get(
        USAGE, {"period_start__year": 2026, "period_start__month": 3, "period_start__day": 14}
    ).content.decode()
    assert "then@example.com" in html and "later@example.com" not in html


@pytest.mark.parametrize("operator", ["superuser", "support"], indirect=True)
def test_admin_ai_usage_export_csv_lists_the_selected_rows(client, operator):
    owner = UserFactory(email="caller@example.com")
    workspace = workspace_create(owner=owner, name="Research")
    start = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    first = ai_call(owner, workspace=workspace, start=start, tokens=300, streamed=True, cost_estimate_usd=0.0125)
    second = ai_call(owner, start=start + timedelta(minutes=1), provider="anthropic", model="claude-3-5-haiku",
                     endpoint="generate-diagram", key_source="user", status="cancelled")
    ai_call(UserFactory(email="unselected@example.com"))
    response = signed_in(client, operator).post(
        USAGE, {"action": "export_csv", "_selected_action": [str(second.pk), str(first.pk)]}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="mdcreator-usage-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == [
        "id", "user_email", "workspace_id", "metric_type", "value", "provider", "model", "endpoint", "prompt_tokens",
        "completion_tokens", "cost_estimate_usd", "key_source", "streamed", "status", "period_start", "period_end",
    ]
    assert rows[1:] == [
        [str(first.pk), "caller@example.com", str(workspace.pk), "ai_token", "300", "openai", "gpt-4o-mini",
         "generate", "100", "200", "0.0125", "server", "True", "success", "2026-05-01T09:30:00.000Z",
         "2026-05-01T09:30:02.000Z"],
        [str(second.pk), "caller@example.com", "", "ai_token", "150", "anthropic", "claude-3-5-haiku",
         "generate-diagram", "100", "50", "4.5e-05", "user", "False", "cancelled", "2026-05-01T09:31:00.000Z",
         "2026-05-01T09:31:02.000Z"],
    ]


def test_admin_ai_usage_export_csv_neutralises_formula_cells(client, superuser):
    row = ai_call(UserFactory(), model="=HYPERLINK(\"http://x\")")
    response = signed_in(client, superuser).post(USAGE, {"action": "export_csv", "_selected_action": [str(row.pk)]})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][6] == "'=HYPERLINK(\"http://x\")"


def test_admin_ai_usage_export_forbidden_to_staff_outside_support(client):
    row = ai_call(UserFactory())
    response = signed_in(client, UserFactory(is_staff=True)).post(
        USAGE, {"action": "export_csv", "_selected_action": [str(row.pk)]}
    )
    assert response.status_code == 403
