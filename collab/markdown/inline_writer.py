"""Inline content -> markdown, at one escaping level (see `escape`)."""

from __future__ import annotations

import re

from collab.markdown.escape import (
    FULL,
    RAW,
    code_span,
    destination,
    escape_line_end,
    escape_line_start,
    escape_script,
    escape_text,
    title,
)

# (open, close) delimiters below FULL and at FULL, where raw HTML tags avoid every flanking rule.
_DELIMITERS = {
    "bold": (("**", "**"), ("<strong>", "</strong>")),
    "italic": (("*", "*"), ("<em>", "</em>")),
    "strike": (("~~", "~~"), ("<s>", "</s>")),
    "underline": (("<u>", "</u>"), ("<u>", "</u>")),
    "highlight": (("==", "=="), ("<mark>", "</mark>")),
    "superscript": (("^", "^"), ("<sup>", "</sup>")),
    "subscript": (("~", "~"), ("<sub>", "</sub>")),
}
_SCRIPTS = frozenset({"superscript", "subscript"})
_AUTOLINK_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>\x00-\x1f]*")


def mark_key(mark: dict) -> tuple:
    """What markdown keeps of a mark: its type, and the href of a link."""
    if mark["type"] == "link":
        return ("link", (mark.get("attrs") or {}).get("href") or "")
    return (mark["type"],)


class InlineWriter:
    """Writes one text block's inline nodes; `context` is "paragraph", "heading" or "cell"."""

    def __init__(self, context: str, level: int) -> None:
        self.context, self.level = context, level
        self.out: list[str] = []
        self.stack: list[tuple] = []
        self.at_line_start = True

    def write(self, content: list[dict]) -> str:
        """The markdown for `content` (already normalized: writable marks only, no newlines in text)."""
        keys = [[mark_key(m) for m in item.get("marks", [])] for item in content]
        for index in range(len(content)):
            self._item(content, keys, index)
            self.at_line_start = self.out[-1].endswith("\n")
        self._close_to(0)
        return "".join(self.out)

    def _item(self, content: list[dict], keys: list[list[tuple]], index: int) -> None:
        """Write the item at `index`."""
        item = content[index]
        if item["type"] == "hardBreak":
            following = keys[index + 1] if index + 1 < len(keys) else []
            self._close_to(self._kept(following, across_break=True))
            self.out.append("\n" if self.context == "paragraph" and self.level != FULL else "<br>")
        elif item["type"] == "image":
            self._close_to(0)
            self.out.append(image_markdown(item, self.level))
        elif ("code",) in keys[index]:
            self._close_to(0)
            self.out.append(code_span(item["text"], in_cell=self.context == "cell"))
        elif self._bare_link(content, keys, index):
            self._close_to(0)
            self.out.append(self._autolink(item, keys[index][0][1]))
        else:
            self._open(keys, index)
            self.out.append(self._text(content, index))

    def _bare_link(self, content: list[dict], keys: list[list[tuple]], index: int) -> bool:
        """Whether a one-run link whose text is its own URL can be written as an autolink."""
        if self.level == FULL or len(keys[index]) != 1 or keys[index][0][0] != "link":
            return False
        if index + 1 < len(keys) and keys[index][0] in keys[index + 1]:
            return False
        href, label = keys[index][0][1], content[index]["text"]
        if self.level == RAW:
            as_url = href == label and "://" in href
            return as_url or href in ("http://" + label, "mailto:" + label)
        return href == label and _AUTOLINK_RE.fullmatch(href) is not None

    def _autolink(self, item: dict, href: str) -> str:
        """A bare URL (RAW) or an `<url>` autolink."""
        return item["text"] if self.level == RAW else f"<{href}>"

    def _text(self, content: list[dict], index: int) -> str:
        """One escaped text run, with its line edges protected."""
        value = content[index]["text"]
        if self.stack and self.stack[-1][0] in _SCRIPTS:
            escaped = escape_script(value, self.level) if self.level != FULL else escape_text(value, FULL)
        else:
            escaped = escape_text(value, self.level)
        if self.context == "cell" and self.level != FULL:
            escaped = escaped.replace("|", "\\|")
        if self.at_line_start:
            escaped = escape_line_start(escaped, self.level)
        if index + 1 == len(content) or content[index + 1]["type"] == "hardBreak":
            escaped = escape_line_end(escaped, self.level)
        return escaped

    def _kept(self, wanted: list[tuple], *, across_break: bool = False) -> int:
        """How many open marks, outermost first, stay open for a run carrying `wanted`."""
        keep = 0
        while keep < len(self.stack) and self.stack[keep] in wanted:
            # Superscript and subscript bodies cannot hold a line break.
            if across_break and self.stack[keep][0] in _SCRIPTS:
                break
            keep += 1
        return keep

    def _open(self, keys: list[list[tuple]], index: int) -> None:
        """Close the marks this run lacks, then open its new ones, longest-lasting outermost."""
        wanted = keys[index]
        self._close_to(self._kept(wanted))
        fresh = [key for key in wanted if key not in self.stack]
        fresh.sort(key=lambda key: (key[0] in _SCRIPTS, -_extent(keys, index, key)))
        for key in fresh:
            self.out.append(self._delimiter(key, opening=True))
            self.stack.append(key)

    def _close_to(self, depth: int) -> None:
        """Close open marks until `depth` remain."""
        while len(self.stack) > depth:
            self.out.append(self._delimiter(self.stack.pop(), opening=False))

    def _delimiter(self, key: tuple, *, opening: bool) -> str:
        """The text that opens or closes the mark `key`."""
        if key[0] == "link":
            return "[" if opening else f"]({destination(key[1])})"
        pair = _DELIMITERS[key[0]][1 if self.level == FULL else 0]
        return pair[0] if opening else pair[1]


def _extent(keys: list[list[tuple]], index: int, key: tuple) -> int:
    """How many runs from `index` on carry the mark `key`."""
    count = 0
    while index + count < len(keys) and key in keys[index + count]:
        count += 1
    return count


def image_markdown(image: dict, level: int) -> str:
    """`![alt](src "title")` with the alt text escaped at `level`."""
    attrs = image.get("attrs") or {}
    alt = escape_text(str(attrs.get("alt") or ""), level)
    suffix = f" {title(str(attrs['title']))}" if attrs.get("title") else ""
    return f"![{alt}]({destination(str(attrs.get('src') or ''))}{suffix})"


def write_inline(content: list[dict], context: str, level: int) -> str:
    """Markdown for normalized inline `content` in `context` at escaping `level`."""
    return InlineWriter(context, level).write(content)
