"""Timestamps as the API writes them: ISO 8601 UTC, millisecond precision, trailing Z (SPEC §0)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 UTC with millisecond precision and a trailing Z; now when no moment is given."""
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def utc_timestamp_or_none(moment: datetime | None) -> str | None:
    """`utc_timestamp` of a moment that may be missing (None stays None)."""
    return utc_timestamp(moment) if moment else None
