"""Text blocks and block images -> markdown that reads back as the same nodes.

Each candidate (escaping levels RAW, SAFE, FULL) is parsed again and compared with what it must hold;
the first that survives wins, so no escaping happens unless it is needed and the output is a fixed point.
"""

from __future__ import annotations

import re

from collab.markdown.escape import FULL, LEVELS, RAW
from collab.markdown.inline_writer import image_markdown, mark_key, write_inline
from collab.markdown.parse import parse_markdown
from collab.markdown.schema import MARK_ATTRS, merge_text, node, normalize_marks, plain_text, text

# Marks markdown can hold; textStyle and comment stay plain text (SPEC §5.7).
WRITABLE_MARKS = frozenset(MARK_ATTRS) - {"textStyle", "comment"}
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
# Prose that no markdown rule reads: letters, digits, spaces, harmless punctuation, `_` inside words.
_PLAIN_RE = re.compile(r"(?:[^\W_]|[ ,;:'\"?.()/%-]|(?<=[^\W_])_(?=[^\W_])|[^\x00-\x7f\s])+")
_AUTOLINK_HINT_RE = re.compile(r"(?i)https?:|mailto:|xmpp:|www\.")
_ORDERED_RE = re.compile(r"\d+[.)](?:\s|$)")
_PLAIN_MARKS = frozenset({"bold", "italic", "strike", "underline", "highlight", "link"})


def normalize_inline(content: list[dict]) -> list[dict]:
    """Inline nodes the writer can express: line breaks as hardBreaks, unknown nodes and marks as plain text."""
    out: list[dict] = []
    for item in content:
        if item.get("type") == "text":
            marks = normalize_marks([m for m in item.get("marks") or [] if m.get("type") in WRITABLE_MARKS])
            for number, line in enumerate(_LINE_BREAK_RE.split(item.get("text", "").replace("\x00", "\ufffd"))):
                if number:
                    out.append(node("hardBreak"))
                out.append(text(line, marks))
        elif item.get("type") in ("hardBreak", "image"):
            out.append({"type": item["type"], "attrs": item.get("attrs") or {}})
        else:
            out.extend(normalize_inline([text(plain_text(item))]))
    return merge_text(out)


def _projection(content: list[dict]) -> list[tuple]:
    """What a reader of the markdown can observe of inline content."""
    seen: list[tuple] = []
    for item in content:
        if item["type"] == "text":
            marks = tuple(sorted(mark_key(m) for m in item.get("marks", [])))
            if seen and seen[-1][0] == "text" and seen[-1][2] == marks:
                seen[-1] = ("text", seen[-1][1] + item["text"], marks)
                continue
            seen.append(("text", item["text"], marks))
        else:
            seen.append(_leaf_projection(item))
    return seen


def _leaf_projection(item: dict) -> tuple:
    """What a reader can observe of a hardBreak or an image."""
    attrs = item.get("attrs") or {}
    if item["type"] == "image":
        return ("image", attrs.get("src") or "", attrs.get("alt") or "", attrs.get("title") or "")
    return (item["type"],)


def _read_back(markdown: str, context: str) -> list[dict] | None:
    """The inline content `markdown` yields when read as a lone paragraph, heading or header cell."""
    if context == "heading":
        blocks = parse_markdown("# " + markdown)
        return blocks[0].get("content", []) if len(blocks) == 1 and blocks[0]["type"] == "heading" else None
    if context == "cell":
        blocks = parse_markdown(f"| {markdown} |\n| --- |")
        if len(blocks) != 1 or blocks[0]["type"] != "table":
            return None
        row = blocks[0]["content"][0]["content"]
        return row[0]["content"][0].get("content", []) if len(row) == 1 else None
    blocks = parse_markdown(markdown)
    return blocks[0].get("content", []) if len(blocks) == 1 and blocks[0]["type"] == "paragraph" else None


def _is_plain_run(value: str, *, marked: bool, line_start: bool, line_end: bool) -> bool:
    """Whether a text run holds no markdown syntax at all, wherever it sits on its line."""
    if not _PLAIN_RE.fullmatch(value) or _AUTOLINK_HINT_RE.search(value):
        return False
    if (marked or line_start) and not (value[0].isalnum() or not value[0].isascii()):
        return False
    if line_start and _ORDERED_RE.match(value):
        return False
    return not (marked and not value[-1].isalnum()) and not (line_end and value[-1].isspace())


def _is_plain(content: list[dict]) -> bool:
    """Whether RAW output certainly reads back the same: prose, single marks between unmarked runs, code."""
    kinds = [item["type"] for item in content]
    if kinds[:1] == ["hardBreak"] or kinds[-1:] == ["hardBreak"] or "image" in kinds:
        return False
    for index, item in enumerate(content):
        previous = content[index - 1] if index else None
        if item["type"] == "hardBreak":
            if previous is not None and previous["type"] == "hardBreak":
                return False
            continue
        marks = [m["type"] for m in item.get("marks", [])]
        if marks == ["code"]:
            continue
        if len(marks) > 1 or (marks and (marks[0] not in _PLAIN_MARKS or (previous or {}).get("marks"))):
            return False
        line_start = previous is None or previous["type"] == "hardBreak"
        line_end = index + 1 == len(content) or content[index + 1]["type"] == "hardBreak"
        if not _is_plain_run(item["text"], marked=bool(marks), line_start=line_start, line_end=line_end):
            return False
    return True


def write_textblock(content: list[dict], context: str) -> str:
    """The least-escaped markdown for the inline content of a paragraph, heading or table cell."""
    content = normalize_inline(content)
    if _is_plain(content):
        return write_inline(content, context, RAW)
    expected = _projection(content)
    candidate = ""
    for level in LEVELS:
        candidate = write_inline(content, context, level)
        found = _read_back(candidate, context)
        if found is not None and _projection(found) == expected:
            return candidate
    return candidate


def write_image(image: dict) -> str:
    """A block image at the least escaping level that reads back as the same image."""
    expected = [_leaf_projection(image)]
    candidate = ""
    for level in LEVELS:
        candidate = image_markdown(image, level)
        blocks = parse_markdown(candidate)
        if [_leaf_projection(block) for block in blocks] == expected:
            return candidate
    return image_markdown(image, FULL)
