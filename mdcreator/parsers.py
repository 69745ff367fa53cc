"""A JSON parser that refuses what the database would choke on (SPEC §9)."""

from __future__ import annotations

import json

from rest_framework.parsers import JSONParser

from mdcreator import errors


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def find_nul_paths(value, path: str = "") -> list[str]:
    """Dotted paths of every string (key or value) that contains a NUL character."""
    found: list[str] = []
    if isinstance(value, str):
        if "\x00" in value:
            found.append(path or "non_field_errors")
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                found.append(child)
            found.extend(find_nul_paths(item, child))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(find_nul_paths(item, f"{path}.{index}" if path else str(index)))
    return found


class StrictJSONParser(JSONParser):
    """UTF-8 JSON only; NaN/Infinity, invalid UTF-8 and NUL characters are refused."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise errors.InvalidJsonError("The request body is not valid UTF-8.") from None
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise errors.InvalidJsonError(f"The request body is not valid JSON: {exc}") from None
        bad = find_nul_paths(data)
        if bad:
            raise errors.ValidationProblem({path: ["NUL characters are not allowed."] for path in bad})
        return data
