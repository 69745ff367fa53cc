"""activity_report: daily active users, totals, workspace activity and AI usage from a seeded history."""

import json
import secrets
import uuid
from datetime import UTC, datetime, time, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import RefreshToken, UsageMetric, User
from accounts.tests.factories import UserFactory
from sync.models import SyncLog
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db


def day(offset: int) -> datetime:
    """A second past midnight (UTC), `offset` days ago: always in the past, always on that day."""
    return datetime.combine(datetime.now(UTC).date() - timedelta(days=offset), time(0, 0, 1), tzinfo=UTC)


def change(workspace, user, moment: datetime) -> SyncLog:
    seq = SyncLog.objects.filter(workspace=workspace).count() + 1000
    entry = SyncLog.objects.create(
        workspace=workspace, seq=seq, entity_type="document", entity_id=uuid.uuid4(), operation="update",
        changed_by=user,
    )
    SyncLog.objects.filter(pk=entry.pk).update(timestamp=moment)
    return entry


def token(user, moment: datetime, parent=None) -> RefreshToken:
    return RefreshToken.objects.create(
        user=user, token_hash=secrets.token_hex(32), created_at=moment, expires_at=moment + timedelta(days=30),
        parent=parent, family_id=parent.family_id if parent else uuid.uuid4(),
    )


def ai(user, moment: datetime, *, workspace=None, tokens: int, cost: float, **metadata) -> UsageMetric:
    meta = {"provider": "openai", "model": "gpt-4o-mini", "endpoint": "generate", "prompt_tokens": tokens,
            "completion_tokens": 0, "cost_estimate_usd": cost, "key_source": "server", "streamed": False,
            "status": "success", **metadata}
    return UsageMetric.objects.create(
        user=user, workspace=workspace, metric_type="ai_token", value=tokens, metadata=meta,
        period_start=moment, period_end=moment + timedelta(seconds=4),
    )


def report(*args) -> dict:
    out = StringIO()
    call_command("activity_report", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def history():
    """Alice, Bob and Carol active in the last week; Erin only 100 days ago; one change made by nobody."""
    people = {name: UserFactory(email=f"{name}@example.com") for name in ("alice", "bob", "carol", "dave", "erin")}
    User.objects.filter(pk=people["erin"].pk).update(created_at=day(100))
    alpha = workspace_create(owner=people["alice"], name="Alpha")
    beta = workspace_create(owner=people["bob"], name="Beta")
    SyncLog.objects.all().delete()  # only the history below
    alice, bob, carol, erin = (people[name] for name in ("alice", "bob", "carol", "erin"))
    change(alpha, alice, day(0))
    change(alpha, alice, day(0) + timedelta(hours=2))
    change(alpha, bob, day(0) + timedelta(hours=1))
    token(carol, day(0))
    ai(alice, day(0) + timedelta(hours=3), workspace=alpha, tokens=100, cost=0.001)
    change(beta, carol, day(1) + timedelta(hours=5))
    token(bob, day(1), parent=token(bob, day(100)))
    ai(carol, day(1), tokens=50, cost=0.002, provider="anthropic", model="claude-3-5-haiku", key_source="user",
       status="error")
    ai(bob, day(5), workspace=beta, tokens=30, cost=0.0005, key_source="user", status="timeout")
    change(beta, None, day(5))
    change(alpha, erin, day(100))
    ai(erin, day(100), workspace=alpha, tokens=999, cost=1.0)
    return {"alpha": alpha, "beta": beta, **people}


def test_activity_report_daily_active_users_and_totals(history):
    data = report("--days", "90")
    assert data["period"] == {"first_day": day(89).date().isoformat(), "last_day": day(0).date().isoformat(),
                              "days": 90}
    daily = {row["date"]: row for row in data["daily"]}
    assert len(data["daily"]) == 90 and list(daily) == sorted(daily)
    assert daily[day(0).date().isoformat()] == {
        "date": day(0).date().isoformat(), "active_users": 3, "changes": 3, "sign_ins": 1, "refreshes": 0,
        "ai_calls": 1, "ai_tokens": 100,
    }
    assert daily[day(1).date().isoformat()] == {
        "date": day(1).date().isoformat(), "active_users": 2, "changes": 1, "sign_ins": 0, "refreshes": 1,
        "ai_calls": 1, "ai_tokens": 50,
    }
    assert daily[day(5).date().isoformat()]["active_users"] == 1  # Bob's AI call; the anonymous change counts none
    assert daily[day(5).date().isoformat()]["changes"] == 1
    quiet = [row for row in data["daily"] if row["date"] not in {day(n).date().isoformat() for n in (0, 1, 5)}]
    assert all(row["active_users"] == row["changes"] == row["ai_calls"] == 0 for row in quiet)
    assert data["totals"] == {
        "active_users": 3, "new_accounts": 4, "changes": 5, "sign_ins": 1, "refreshes": 1, "ai_calls": 3,
        "ai_tokens": 180, "ai_cost_usd": 0.0035,
    }


def test_activity_report_workspace_activity(history):
    workspaces = report()["workspaces"]
    assert workspaces == [
        {"id": str(history["alpha"].pk), "name": "Alpha", "changes": 3, "active_members": 2, "ai_calls": 1,
         "last_activity": (day(0) + timedelta(hours=3, seconds=4)).isoformat(timespec="milliseconds")[:-6] + "Z"},
        {"id": str(history["beta"].pk), "name": "Beta", "changes": 2, "active_members": 2, "ai_calls": 1,
         "last_activity": (day(1) + timedelta(hours=5)).isoformat(timespec="milliseconds")[:-6] + "Z"},
    ]


def test_activity_report_ai_usage_by_provider_key_source_and_status(history):
    ai_usage = report()["ai"]
    assert ai_usage["by_provider"] == [
        {"provider": "anthropic", "calls": 1, "tokens": 50, "cost_usd": 0.002},
        {"provider": "openai", "calls": 2, "tokens": 130, "cost_usd": 0.0015},
    ]
    assert ai_usage["by_key_source"] == [
        {"key_source": "server", "calls": 1, "tokens": 100, "cost_usd": 0.001},
        {"key_source": "user", "calls": 2, "tokens": 80, "cost_usd": 0.0025},
    ]
    assert [(row["status"], row["calls"]) for row in ai_usage["by_status"]] == [
        ("error", 1), ("success", 1), ("timeout", 1),
    ]


def test_activity_report_days_narrows_the_window(history):
    data = report("--days", "1")
    assert [row["date"] for row in data["daily"]] == [day(0).date().isoformat()]
    assert data["totals"]["active_users"] == 3 and data["totals"]["changes"] == 3
    assert data["totals"]["ai_calls"] == 1 and data["totals"]["refreshes"] == 0
    assert [w["name"] for w in data["workspaces"]] == ["Alpha"]
    assert report("--days", "365")["totals"]["active_users"] == 4  # Erin too


def test_activity_report_text_format(history):
    out = StringIO()
    call_command("activity_report", "--days", "7", stdout=out)
    text = out.getvalue()
    assert text.startswith(f"Activity from {day(6).date().isoformat()} to {day(0).date().isoformat()} (7 days, UTC)")
    assert "Workspaces with activity: 2" in text and "AI usage by key source" in text
    assert any(line.split()[:4] == ["Alpha", "3", "2", "1"] for line in text.splitlines())
    assert any(line.split()[:3] == ["anthropic", "1", "50"] for line in text.splitlines())


def test_activity_report_empty_database_reports_zeros():
    data = report("--days", "3")
    assert data["totals"]["active_users"] == 0 and data["workspaces"] == []
    assert data["ai"] == {"by_provider": [], "by_key_source": [], "by_status": []}
    assert [row["active_users"] for row in data["daily"]] == [0, 0, 0]


def test_activity_report_query_count_does_not_grow_with_history(history, django_assert_max_num_queries):
    with django_assert_max_num_queries(20) as few:
        report()
    for n in range(6):
        person = UserFactory()
        workspace = workspace_create(owner=person, name=f"More {n}")
        for offset in range(n + 1):
            change(workspace, person, day(offset))
            token(person, day(offset))
            ai(person, day(offset), workspace=workspace, tokens=10, cost=0.0001)
    with django_assert_max_num_queries(len(few)):
        data = report()
    assert len(data["workspaces"]) == 8


@pytest.mark.parametrize("days", ["0", "-3", "100000"])
def test_activity_report_days_out_of_range_is_a_command_error(days):
    with pytest.raises(CommandError, match="--days"):
        call_command("activity_report", "--days", days)
