"""Content rules: validation per type, hashes, derived counts, tags (SPEC §1.3, §3.3, §9)."""

from __future__ import annotations

import hashlib
import json
import re

from mdcreator.errors import PayloadTooLargeError, ValidationProblem
from mdcreator.parsers import VALUE_MAX_DEPTH, json_value_problem, strict_json_loads

CONTENT_MAX_BYTES = 5 * 1024 * 1024
JSON_FIELD_MAX_BYTES = 64 * 1024
TITLE_MAX = 500
TAGS_MAX = 50
TAG_MAX = 64
_WORD = re.compile(r"\w+", re.UNICODE)
# What a document holds when it is created without content.
EMPTY_CONTENT = {"markdown": "", "mindmap": '{"nodes": [], "edges": []}', "presentation": '{"slides": []}'}


def content_hash(content: str) -> str:
    """sha256 hex of the UTF-8 bytes: the document's ETag."""
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def word_count(content: str) -> int:
    """Words of the text (for JSON documents, of the whole JSON text)."""
    return len(_WORD.findall(content))


def json_size(value) -> int:
    """Bytes of a JSON value as stored."""
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def validate_content(doc_type: str, content: str) -> dict | None:
    """Check `content` for its document type; returns the parsed JSON for mindmaps and presentations."""
    if len(content.encode("utf-8")) > CONTENT_MAX_BYTES:
        raise PayloadTooLargeError(f"content exceeds {CONTENT_MAX_BYTES} bytes of UTF-8.")
    if "\x00" in content:
        raise ValidationProblem({"content": ["NUL characters are not allowed."]})
    if doc_type == "markdown":
        return None
    parsed = _strict_json(doc_type, content)
    required = ("nodes", "edges") if doc_type == "mindmap" else ("slides",)
    if not isinstance(parsed, dict) or any(not isinstance(parsed.get(key), list) for key in required):
        keys = " and ".join(f"'{key}'" for key in required)
        raise ValidationProblem({"content": [f"A {doc_type} document is a JSON object with array {keys}."]})
    return parsed


def _strict_json(doc_type: str, content: str):
    """The content parsed as strict JSON (RFC 8259) within SPEC §9's depth, as a browser's JSON.parse and the
    database will read it back: no NaN or Infinity, no escaped NUL, no lone surrogate."""
    try:
        parsed = strict_json_loads(content)
    except RecursionError:
        raise ValidationProblem({"content": [f"JSON nests deeper than {VALUE_MAX_DEPTH} levels."]}) from None
    except ValueError as exc:
        raise ValidationProblem(
            {"content": [f"A {doc_type} document's content must be a JSON object (RFC 8259): {exc}"]}
        ) from None
    problem = json_value_problem(parsed)
    if problem:
        raise ValidationProblem({"content": [problem]})
    return parsed


def normalize_tags(tags: list[str]) -> list[str]:
    """Trim, drop empties and case-insensitive duplicates (first spelling wins), ≤ 50 × 64 chars."""
    seen: set[str] = set()
    result: list[str] = []
    for raw in tags:
        tag = raw.strip()
        if not tag or tag.casefold() in seen:
            continue
        if len(tag) > TAG_MAX:
            raise ValidationProblem({"tags": [f"Tags are at most {TAG_MAX} characters."]})
        seen.add(tag.casefold())
        result.append(tag)
    if len(result) > TAGS_MAX:
        raise ValidationProblem({"tags": [f"At most {TAGS_MAX} tags."]})
    return result


def check_json_field(name: str, value: dict) -> None:
    """metadata and settings are each ≤ 64 KiB (413) and nest at most 32 levels (400 naming the field)."""
    problem = json_value_problem(value)
    if problem:
        raise ValidationProblem({name: [problem]})
    if json_size(value) > JSON_FIELD_MAX_BYTES:
        raise PayloadTooLargeError(f"{name} exceeds {JSON_FIELD_MAX_BYTES} bytes.")
