"""A JSON parser that refuses what the database would choke on (SPEC §9)."""

from __future__ import annotations

import json
import math
import re

from rest_framework.parsers import JSONParser

from mdcreator import errors

# Deeper documents are refused before anything recursive (serializers, json.dumps,
# the database's JSON parser) walks them and runs out of stack. A body wraps the values
# SPEC §9 limits to VALUE_MAX_DEPTH (content, metadata, settings, a push's change data)
# in a few levels of its own, so the body as a whole may nest deeper than they may.
BODY_MAX_DEPTH = 100
# SPEC §9: mindmap and presentation content, metadata and settings nest at most this deep.
VALUE_MAX_DEPTH = 32

# NUL cannot be stored in PostgreSQL text or jsonb; a lone surrogate (`"\ud800"`)
# has no UTF-8 encoding, so encoding it for the database or a hash would fail.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        # 1e400 parses to infinity, which JSON cannot represent on the way out.
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _string_problem(text: str) -> str | None:
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    if match.group() == "\x00":
        return "NUL characters are not allowed."
    return "Unpaired surrogate characters (invalid UTF-8) are not allowed."


def json_depth(value) -> int:
    """Nesting depth of a decoded JSON value (scalars are 0), computed without recursion."""
    deepest = 0
    pending = [(value, 1)] if isinstance(value, (dict, list)) else []
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def find_invalid_strings(value, path: str = "") -> dict[str, str]:
    """`{dotted path: message}` for every string (key or value) with NUL or an unpaired surrogate."""
    found: dict[str, str] = {}
    if isinstance(value, str):
        problem = _string_problem(value)
        if problem:
            found[path or "non_field_errors"] = problem
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            problem = _string_problem(str(key))
            if problem:
                found[child] = problem
            found.update(find_invalid_strings(item, child))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.update(find_invalid_strings(item, f"{path}.{index}" if path else str(index)))
    return found


def strict_json_loads(text: str):
    """Parse RFC 8259 JSON; NaN, Infinity and numbers overflowing a double raise ValueError (as does bad syntax).

    Python's `json.loads` accepts the three constants, which JSON.parse in a browser and PostgreSQL's jsonb refuse.
    Nesting deep enough to exhaust the parser's recursion raises RecursionError.
    """
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)


def json_value_problem(value, *, max_depth: int = VALUE_MAX_DEPTH) -> str | None:
    """Why a decoded JSON value cannot be stored and served as JSON (too deep, NUL, a lone surrogate), or None."""
    if json_depth(value) > max_depth:
        return f"JSON nests deeper than {max_depth} levels."
    bad = find_invalid_strings(value)
    return next(iter(bad.values())) if bad else None


class StrictJSONParser(JSONParser):
    """UTF-8 JSON only; NaN/Infinity, overflowing numbers, deep nesting, invalid UTF-8 and NUL are refused."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.InvalidJsonError("The request body is not valid UTF-8.") from None
        try:
            data = strict_json_loads(text)
        except (ValueError, RecursionError) as exc:
            raise errors.InvalidJsonError(f"The request body is not valid JSON: {exc}") from None
        if json_depth(data) > BODY_MAX_DEPTH:
            raise errors.InvalidJsonError(f"The request body nests deeper than {BODY_MAX_DEPTH} levels.")
        bad = find_invalid_strings(data)
        if bad:
            raise errors.ValidationProblem({path: [message] for path, message in bad.items()})
        return data
