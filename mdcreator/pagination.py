"""limit/offset paging for the lists that are not cursor-paginated (SPEC §0)."""

from __future__ import annotations

from dataclasses import dataclass

from mdcreator.errors import ValidationProblem
from mdcreator.validation import ascii_integer

# Larger offsets overflow the database's OFFSET (bigint in PostgreSQL) and would end in a 500.
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int

    def slice(self, queryset):
        """The rows of this page."""
        return queryset[self.offset : self.offset + self.limit]


def _int_param(params, name: str, default: int, low: int, high: int) -> int | str:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    value = ascii_integer(raw)
    if value is None:
        return "Must be an integer."
    if value < low or value > high:
        return f"Must be between {low} and {high}."
    return value


def page_from(params, *, max_limit: int, default_limit: int) -> Page:
    """Read `limit` (1..max_limit) and `offset` (≥ 0) from query parameters; 400 when invalid."""
    limit = _int_param(params, "limit", default_limit, 1, max_limit)
    offset = _int_param(params, "offset", 0, 0, MAX_OFFSET)
    problems = {name: [value] for name, value in (("limit", limit), ("offset", offset)) if isinstance(value, str)}
    if problems:
        raise ValidationProblem(problems)
    return Page(limit=limit, offset=offset)
