"""Escaping of literal text, code spans, link destinations and titles for the markdown writer.

Text is escaped at one of three levels; the writer tries them in order and keeps the first that reads back
unchanged: RAW (as typed, so the client's own markdown comes back as it was), SAFE (the syntax characters
that commonly matter) and FULL (every ASCII punctuation character, whitespace at line edges as entities).
"""

from __future__ import annotations

import re
import string

RAW, SAFE, FULL = 0, 1, 2
LEVELS = (RAW, SAFE, FULL)

_PUNCTUATION = frozenset(string.punctuation)
# A line that would open a block instead of continuing a paragraph: heading, quote, list item, setext
# underline, fence or table row.
_BLOCK_START_RE = re.compile(r"#{1,6}(?=[ \t]|$)|>|[-+*](?=[ \t]|$)|=+[ \t]*$|-+[ \t]*$|`{3}|~{3}|\|")
_ORDERED_START_RE = re.compile(r"(\d{1,9})([.)])(?=[ \t]|$)")
_ENTITY_RE = re.compile(r"&(?=#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_SAFE_RE = re.compile(r"[\\`*~^\[\]<]|(?<==)=|=(?==)")
# Text a reader would turn into a link (GFM autolinks): break the scheme colon, `www.` or the `@`.
_AUTOLINK_RE = re.compile(r"(?i)(?:(?<=https)|(?<=http)|(?<=mailto)|(?<=xmpp))(?=:)|(?<=www)(?=\.)|(?=@)")
_SUBSUP_RE = re.compile(r"[\s\\~^`]")


def entity(char: str) -> str:
    """A numeric character reference, the one way to keep whitespace at a line's edge."""
    return f"&#{ord(char)};"


def escape_all(value: str) -> str:
    """Backslash-escape every ASCII punctuation character."""
    return "".join("\\" + char if char in _PUNCTUATION else char for char in value)


def escape_safe(value: str) -> str:
    """Escape the characters that open inline syntax; `_` only where it could emphasize."""
    escaped = _SAFE_RE.sub(lambda found: "\\" + found.group(0), value)
    escaped = _ENTITY_RE.sub("\\&", escaped)
    escaped = _AUTOLINK_RE.sub(r"\\", escaped)
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", escaped)


def escape_text(value: str, level: int) -> str:
    """Escape a text run at `level` (line edges are handled by `escape_line_start` / `escape_line_end`)."""
    if level == FULL:
        return escape_all(value)
    if level == SAFE:
        return escape_safe(value)
    return value


def escape_script(value: str, level: int) -> str:
    """Escape the body of `^sup^` / `~sub~`, which is read as plain text with backslash escapes."""
    if level == RAW:
        return _SUBSUP_RE.sub(lambda found: "\\" + found.group(0), value)
    return "".join("\\" + char if char in _PUNCTUATION or char == " " else char for char in value)


def escape_line_start(line: str, level: int) -> str:
    """Keep the start of a paragraph line from being read as whitespace to strip or as a block marker."""
    if level == RAW:
        return line
    stripped = line.lstrip()
    head = "".join(entity(char) for char in line[: len(line) - len(stripped)])
    if level == SAFE and not head:
        ordered = _ORDERED_START_RE.match(stripped)
        if ordered:
            return ordered.group(1) + "\\" + stripped[len(ordered.group(1)) :]
        if _BLOCK_START_RE.match(stripped) and not stripped.startswith("\\"):
            return "\\" + stripped
    return head + stripped


def escape_line_end(line: str, level: int) -> str:
    """Keep whitespace at the end of a paragraph line (markdown would strip it or read a hard break)."""
    if level == RAW:
        return line
    stripped = line.rstrip()
    return stripped + "".join(entity(char) for char in line[len(stripped) :])


def code_span(value: str, *, in_cell: bool = False) -> str:
    """A code span whose fence is longer than any backtick run inside, padded when the edges need it."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    needs_pad = value.startswith("`") or value.endswith("`")
    needs_pad = needs_pad or (value.startswith(" ") and value.endswith(" ") and value.strip(" ") != "")
    pad = " " if needs_pad else ""
    if in_cell:
        value = value.replace("|", "\\|")
    return f"{fence}{pad}{value}{pad}{fence}"


def destination(href: str) -> str:
    """A link or image destination, in angle brackets when it holds spaces, brackets or parentheses."""
    href = _ENTITY_RE.sub("\\&", href.replace("\\", "\\\\"))
    if href and not re.search(r"[\s<>()\x00-\x1f]", href):
        return href
    return "<" + re.sub(r"([<>])", r"\\\1", href) + ">"


def title(value: str) -> str:
    """A quoted link or image title."""
    return '"' + re.sub(r'(["\\&])', r"\\\1", value) + '"'
