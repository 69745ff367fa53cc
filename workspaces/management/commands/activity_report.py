"""Daily active users, workspace activity and AI usage over a period (SPEC §1 analytics views, §8).

Activity is what the database records a person doing: sync-log entries they made (REST, live edits, pushes),
refresh tokens issued to them (sign-ins and refreshes) and AI calls. Days are UTC days. Every figure comes
from an aggregate query grouped with `TruncDate`; the number of queries does not grow with the data.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count, F, FloatField, Max, Q, Sum
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncDate

from accounts.models import RefreshToken, UsageMetric, User
from mdcreator.timestamps import utc_timestamp_or_none
from sync.models import SyncLog

MAX_DAYS = 3660


class Period:
    """The report's window: `days` whole UTC days ending today."""

    def __init__(self, days: int, today: date) -> None:
        self.days = days
        self.first = today - timedelta(days=days - 1)
        self.last = today
        self.since = datetime.combine(self.first, time.min, tzinfo=UTC)
        self.until = datetime.combine(today + timedelta(days=1), time.min, tzinfo=UTC)

    def rows(self, model, moment: str):
        """`model`'s rows whose `moment` falls in the period, unordered."""
        return model.objects.filter(**{f"{moment}__gte": self.since, f"{moment}__lt": self.until}).order_by()

    def dates(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range(self.days)]


def _changes(period: Period):
    return period.rows(SyncLog, "timestamp")


def _tokens(period: Period):
    return period.rows(RefreshToken, "created_at")


def _ai_calls(period: Period):
    return period.rows(UsageMetric, "period_start").filter(metric_type=UsageMetric.MetricType.AI_TOKEN)


def _day(value) -> date:
    """A day as a raw cursor returns it: PostgreSQL gives a date, SQLite its ISO text."""
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _per_union(pairs, key: str) -> dict:
    """Rows of a UNION of distinct (`key`, person_id) pairs counted per `key`: distinct people per key."""
    sql, params = pairs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pairs.{key}, COUNT(*) FROM ({sql}) pairs GROUP BY pairs.{key}", params)  # noqa: S608
        return dict(cursor.fetchall())


def _people_in_union(pairs) -> int:
    """Distinct people in a UNION of (key, person_id) pairs."""
    sql, params = pairs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(DISTINCT pairs.person_id) FROM ({sql}) pairs", params)  # noqa: S608
        return cursor.fetchone()[0]


def _by_day(rows, moment: str, **aggregates) -> dict[date, dict]:
    """`aggregates` of `rows` per UTC day of `moment`."""
    grouped = rows.annotate(day=TruncDate(moment, tzinfo=UTC)).values("day").annotate(**aggregates)
    return {row.pop("day"): row for row in grouped}


def _active_pairs(period: Period):
    """Distinct (day, person) pairs over the three sources of activity, as one UNION."""
    changes = _changes(period).filter(changed_by__isnull=False)
    return (
        changes.values(active_day=TruncDate("timestamp", tzinfo=UTC), person_id=F("changed_by"))
        .union(_tokens(period).values(active_day=TruncDate("created_at", tzinfo=UTC), person_id=F("user")))
        .union(_ai_calls(period).values(active_day=TruncDate("period_start", tzinfo=UTC), person_id=F("user")))
    )


def daily_activity(period: Period) -> tuple[list[dict], int]:
    """One row per day of the period (quiet days included) and the period's distinct active people."""
    pairs = _active_pairs(period)
    people = {_day(day): count for day, count in _per_union(pairs, "active_day").items()}
    changes = _by_day(_changes(period), "timestamp", changes=Count("pk"))
    tokens = _by_day(
        _tokens(period), "created_at",
        sign_ins=Count("pk", filter=Q(parent__isnull=True)), refreshes=Count("pk", filter=Q(parent__isnull=False)),
    )
    calls = _by_day(_ai_calls(period), "period_start", ai_calls=Count("pk"), ai_tokens=Sum("value"))
    quiet = {"changes": 0, "sign_ins": 0, "refreshes": 0, "ai_calls": 0, "ai_tokens": 0}
    rows = []
    for day in period.dates():
        row = {"date": day.isoformat(), "active_users": people.get(day, 0), **quiet}
        row.update(changes.get(day, {}), **tokens.get(day, {}), **calls.get(day, {}))
        rows.append(row)
    return rows, _people_in_union(pairs)


def _per_workspace(rows, moment: str, **aggregates) -> dict:
    """`aggregates` of `rows` per workspace, with its name and the latest `moment` as `last`."""
    grouped = rows.values("workspace_id", "workspace__name").annotate(last=Max(moment), **aggregates)
    return {row.pop("workspace_id"): row for row in grouped}


def workspace_activity(period: Period) -> list[dict]:
    """Every workspace with changes or AI calls in the period, busiest first."""
    changes = _per_workspace(_changes(period), "timestamp", changes=Count("pk"))
    calls = _per_workspace(_ai_calls(period).filter(workspace__isnull=False), "period_end", ai_calls=Count("pk"))
    people_pairs = (
        _changes(period).filter(changed_by__isnull=False)
        .values(workspace_key=F("workspace_id"), person_id=F("changed_by"))
        .union(_ai_calls(period).filter(workspace__isnull=False).values(workspace_key=F("workspace"), person_id=F("user")))
    )
    # A raw cursor gives a UUID on PostgreSQL and its 32 hex digits on SQLite; both are keyed by the hex digits.
    people = {str(key).replace("-", ""): count for key, count in _per_union(people_pairs, "workspace_key").items()}
    report = []
    for workspace_id in changes.keys() | calls.keys():
        found = [row for row in (changes.get(workspace_id), calls.get(workspace_id)) if row]
        report.append({
            "id": str(workspace_id),
            "name": found[0]["workspace__name"],
            "changes": changes.get(workspace_id, {}).get("changes", 0),
            "active_members": people.get(workspace_id.hex, 0),
            "ai_calls": calls.get(workspace_id, {}).get("ai_calls", 0),
            "last_activity": utc_timestamp_or_none(max(row["last"] for row in found)),
        })
    report.sort(key=lambda row: (-row["changes"], -row["ai_calls"], row["name"], row["id"]))
    return report


def _ai_grouped(calls, key: str) -> list[dict]:
    """Calls, tokens and cost of `calls` per value of `metadata[key]` ("unknown" where it is missing)."""
    rows = (
        calls.values(bucket=KT(f"metadata__{key}"))
        .annotate(
            calls=Count("pk"), tokens=Sum("value"),
            cost=Sum(Cast(KT("metadata__cost_estimate_usd"), FloatField())),
        )
        .order_by("bucket")
    )
    return [
        {key: row["bucket"] or "unknown", "calls": row["calls"], "tokens": row["tokens"] or 0,
         "cost_usd": round(row["cost"] or 0.0, 6)}
        for row in rows
    ]


def ai_usage(period: Period) -> dict:
    """AI calls, tokens and estimated cost in the period, by provider, by key source and by outcome."""
    calls = _ai_calls(period)
    return {
        "by_provider": _ai_grouped(calls, "provider"),
        "by_key_source": _ai_grouped(calls, "key_source"),
        "by_status": _ai_grouped(calls, "status"),
    }


def activity_report(*, days: int, today: date | None = None) -> dict:
    """The report as one JSON-ready dict (`period`, `totals`, `daily`, `workspaces`, `ai`)."""
    period = Period(days, today or datetime.now(UTC).date())
    daily, active_users = daily_activity(period)
    ai = ai_usage(period)
    totals = {
        "active_users": active_users,
        "new_accounts": period.rows(User, "created_at").count(),
        **{name: sum(row[name] for row in daily) for name in ("changes", "sign_ins", "refreshes")},
        "ai_calls": sum(row["calls"] for row in ai["by_provider"]),
        "ai_tokens": sum(row["tokens"] for row in ai["by_provider"]),
        "ai_cost_usd": round(sum((row["cost_usd"] for row in ai["by_provider"]), 0.0), 6),
    }
    return {
        "period": {"first_day": period.first.isoformat(), "last_day": period.last.isoformat(), "days": days},
        "totals": totals,
        "daily": daily,
        "workspaces": workspace_activity(period),
        "ai": ai,
    }


def _table(headers: tuple[str, ...], rows: list[tuple]) -> list[str]:
    """Left-aligned first column, right-aligned numbers, two spaces between columns."""
    cells = [tuple(str(value) for value in row) for row in rows]
    widths = [max(len(text) for text in column) for column in zip(headers, *cells, strict=True)]

    def line(values) -> str:
        first, *rest = values
        return "  ".join([first.ljust(widths[0]), *(v.rjust(w) for v, w in zip(rest, widths[1:], strict=True))])

    return [line(headers), *(line(row) for row in cells)]


def render_text(report: dict) -> str:
    """The report as aligned plain-text tables."""
    period, totals = report["period"], report["totals"]
    lines = [f"Activity from {period['first_day']} to {period['last_day']} ({period['days']} days, UTC)", ""]
    lines += ["Totals", *_table(("figure", "value"), [(name.replace("_", " "), v) for name, v in totals.items()]), ""]
    daily = [tuple(row.values()) for row in report["daily"]]
    lines += ["Daily activity", *_table(("date", "users", "changes", "sign-ins", "refreshes", "AI calls",
                                         "AI tokens"), daily), ""]
    workspaces = [(w["name"], w["changes"], w["active_members"], w["ai_calls"], w["last_activity"])
                  for w in report["workspaces"]]
    lines += [f"Workspaces with activity: {len(workspaces)}"]
    if workspaces:
        lines += _table(("workspace", "changes", "active members", "AI calls", "last activity"), workspaces)
    for title, key in (("provider", "by_provider"), ("key source", "by_key_source"), ("status", "by_status")):
        rows = [tuple(row.values()) for row in report["ai"][key]]
        lines += ["", f"AI usage by {title}"]
        lines += _table((title, "calls", "tokens", "cost (USD)"), rows) if rows else ["(no AI calls)"]
    return "\n".join(lines)


class Command(BaseCommand):
    help = (
        "Report the last --days whole UTC days (default 90, today included): daily active users (people who "
        "changed something, signed in or refreshed a session, or called the AI), totals, every workspace with "
        "activity (changes, active members, AI calls, last activity) and AI usage by provider, key source and "
        "status. --format json prints one JSON document. Reads only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=90, help="Days to cover, today included (default 90).")
        parser.add_argument("--format", choices=("text", "json"), default="text", dest="output_format")

    def handle(self, *args, days: int, output_format: str, **options):
        if not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}.")
        report = activity_report(days=days)
        if output_format == "json":
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write(render_text(report))
