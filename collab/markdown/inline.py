"""markdown-it inline tokens -> text nodes with marks, hardBreaks and inline images."""

from __future__ import annotations

import re

from markdown_it.token import Token

from collab.markdown.schema import link_mark, mark, merge_text, node, normalize_marks, text

# Delimiter-based tokens and the mark each one opens or closes.
_TOKEN_MARKS = {
    "strong": "bold",
    "em": "italic",
    "s": "strike",
    "mark": "highlight",
    "sub": "subscript",
    "sup": "superscript",
}
# Raw HTML tags read as marks; the writer itself only emits them when markdown delimiters cannot hold the text.
_HTML_MARKS = {
    "u": "underline",
    "strong": "bold",
    "b": "bold",
    "em": "italic",
    "i": "italic",
    "s": "strike",
    "del": "strike",
    "strike": "strike",
    "mark": "highlight",
    "sup": "superscript",
    "sub": "subscript",
}
_TAG_RE = re.compile(r"<(/?)([a-zA-Z]+)\s*(/?)>")
_BREAK_TAGS = frozenset({"<br>", "<br/>", "<br />"})


def _html_roles(tokens: list[Token]) -> dict[int, tuple[str, str]]:
    """Pair `<u>`…`</u>`-style tags; return index -> ("open"|"close"|"break", mark name) for tags that count."""
    roles: dict[int, tuple[str, str]] = {}
    open_tags: list[tuple[str, int]] = []
    for index, token in enumerate(tokens):
        if token.type != "html_inline":
            continue
        if token.content.lower() in _BREAK_TAGS:
            roles[index] = ("break", "")
            continue
        match = _TAG_RE.fullmatch(token.content)
        if not match or match.group(3) or match.group(2).lower() not in _HTML_MARKS:
            continue
        name = match.group(2).lower()
        if not match.group(1):
            open_tags.append((name, index))
            continue
        for position in range(len(open_tags) - 1, -1, -1):
            if open_tags[position][0] == name:
                roles[open_tags.pop(position)[1]] = ("open", _HTML_MARKS[name])
                roles[index] = ("close", _HTML_MARKS[name])
                break
    return roles


def _toggle(active: list[dict], name: str, opening: bool) -> None:
    """Open the mark `name`, or close its innermost open instance."""
    if opening:
        active.append(mark(name))
        return
    for position in range(len(active) - 1, -1, -1):
        if active[position]["type"] == name:
            del active[position]
            return


def _image(token: Token, active: list[dict], images_as_text: bool) -> dict:
    """A block image node, or its alt text where only inline content is allowed."""
    alt = "".join(_alt_text(child) for child in token.children or [])
    if images_as_text:
        return text(alt, normalize_marks(active))
    title = token.attrs.get("title")
    return node("image", src=str(token.attrs.get("src", "")), alt=alt or None, title=str(title) if title else None)


def _alt_text(token: Token) -> str:
    """The plain text of an image label, as markdown-it renders it into `alt`."""
    if token.type in ("softbreak", "hardbreak"):
        return " "
    if token.type == "image":
        return "".join(_alt_text(child) for child in token.children or [])
    if token.type in ("text", "text_special", "code_inline", "html_inline"):
        return token.content
    return ""


def inline_nodes(tokens: list[Token] | None, *, images_as_text: bool = False) -> list[dict]:
    """Map the children of one `inline` token to editor inline nodes."""
    tokens = tokens or []
    roles = _html_roles(tokens)
    active: list[dict] = []
    out: list[dict] = []
    for index, token in enumerate(tokens):
        kind, _, edge = token.type.rpartition("_")
        if kind in _TOKEN_MARKS and edge in ("open", "close"):
            _toggle(active, _TOKEN_MARKS[kind], edge == "open")
        elif token.type == "link_open":
            active.append(link_mark(str(token.attrs.get("href", ""))))
        elif token.type == "link_close":
            _toggle(active, "link", False)
        elif token.type in ("softbreak", "hardbreak"):
            out.append(node("hardBreak"))
        elif token.type == "code_inline":
            out.append(text(token.content, [mark("code")]))
        elif token.type == "image":
            out.append(_image(token, active, images_as_text))
        elif index in roles:
            role, name = roles[index]
            if role == "break":
                out.append(node("hardBreak"))
            else:
                _toggle(active, name, role == "open")
        else:
            out.append(text(token.content, normalize_marks(active)))
    return merge_text(out)
