"""The editor's block nodes -> markdown (the writer of SPEC §5.7)."""

from __future__ import annotations

import re

from collab.markdown.schema import CELLS, LIST_ITEMS, NODE_ATTRS, node, plain_text
from collab.markdown.textblock import write_image, write_textblock

_BULLET_TYPES = frozenset({"bulletList", "taskList"})
_BOX_RE = re.compile(r"\[[ xX]\][ \t]")
_RULE_RE = re.compile(r"([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_MAX_START = 999_999_999


def serialize_markdown(blocks: list[dict]) -> str:
    """Markdown for top-level blocks; ends with one newline unless the document is empty."""
    body = _join(blocks)
    return body + "\n" if body else ""


def _join(blocks: list[dict]) -> str:
    """Sibling blocks separated by blank lines; empty paragraphs vanish, adjacent lists stay apart."""
    return "\n\n".join(part for _block, part in _rendered(blocks))


def _rendered(blocks: list[dict]) -> list[tuple[dict, str]]:
    """Each block with its markdown, skipping blocks that write nothing."""
    parts: list[tuple[dict, str]] = []
    previous: dict | None = None
    previous_alternate = False
    for block in blocks:
        # Two lists of one kind in a row would read as one list: switch the marker of the second.
        alternate = _same_list_kind(previous, block) and not previous_alternate
        markdown = _block(block, alternate=alternate)
        if markdown:
            parts.append((block, markdown))
            previous, previous_alternate = block, alternate
    return parts


def _same_list_kind(previous: dict | None, block: dict) -> bool:
    """Whether `block` would continue the list `previous` if both used the same marker."""
    if previous is None:
        return False
    if previous["type"] in _BULLET_TYPES and block["type"] in _BULLET_TYPES:
        return True
    return previous["type"] == block["type"] == "orderedList"


def _block(block: dict, *, alternate: bool = False) -> str:
    """Markdown for one block node (unknown nodes give their text as paragraphs)."""
    kind = block.get("type")
    content = block.get("content") or []
    if kind == "paragraph":
        return write_textblock(content, "paragraph")
    if kind == "heading":
        return _heading(block)
    if kind in LIST_ITEMS:
        return _list(block, alternate)
    if kind in _SIMPLE:
        return _SIMPLE[kind](block)
    return _opaque(block)


def _attr(block: dict, name: str):
    """An attribute of `block`, or its default."""
    attrs = block.get("attrs") or {}
    value = attrs.get(name)
    return NODE_ATTRS.get(block["type"], {}).get(name) if value is None else value


def _heading(block: dict) -> str:
    """An ATX heading; line breaks inside it are written as `<br>`."""
    try:
        level = min(6, max(1, int(_attr(block, "level"))))
    except (TypeError, ValueError):
        level = 1
    inline = write_textblock(block.get("content") or [], "heading")
    return "#" * level + (" " + inline if inline else "")


def _blockquote(block: dict) -> str:
    """`> ` before every line of the quoted blocks."""
    body = _join(block.get("content") or []) or ""
    return "\n".join("> " + line if line else ">" for line in body.split("\n"))


def _list(block: dict, alternate: bool) -> str:
    """A tight list; bullets `-` (or `*` when alternating), numbers from `start` with `.` (or `)`)."""
    items = block.get("content") or []
    if block["type"] == "orderedList":
        try:
            number = min(_MAX_START, max(0, int(_attr(block, "start"))))
        except (TypeError, ValueError):
            number = 1
        delimiter = ")" if alternate else "."
        return "\n".join(_item(item, f"{number + offset}{delimiter} ", False) for offset, item in enumerate(items))
    bullet = "* " if alternate else "- "
    if block["type"] == "taskList":
        return "\n".join(_item(item, bullet, True) for item in items)
    return "\n".join(_item(item, bullet, False) for item in items)


def _item(item: dict, marker: str, is_task: bool) -> str:
    """One list item: the marker, its first paragraph, then its other blocks indented under it."""
    blocks = list(item.get("content") or []) if item.get("type") in ("listItem", "taskItem") else [item]
    if len(blocks) > 1 and _is_empty_paragraph(blocks[0]) and blocks[1].get("type") == "paragraph":
        blocks = blocks[1:]
    head = marker
    if is_task:
        head += "[x] " if _attr(item, "checked") is True else "[ ] "
    indent = " " * len(marker)
    bare_head = head if is_task else head.rstrip()
    if not blocks or _is_empty_paragraph(blocks[0]):
        rest = _item_body(blocks[1:])
        lines = [bare_head] + (rest.split("\n") if rest else [])
    else:
        body = _item_body(blocks)
        if not is_task and (_BOX_RE.match(body) or _RULE_RE.match(head + body.split("\n", 1)[0])):
            # Text that looks like a task box must not become one, nor `- --` / `* **` a rule.
            body = "\\" + body
        # Spaces after the marker only widen it; leading spaces (raw HTML lines) go on the next line.
        lines = [bare_head, *body.split("\n")] if body[:1].isspace() else (head + body).split("\n")
    return "\n".join([lines[0], *(indent + line if line else "" for line in lines[1:])])


def _item_body(blocks: list[dict]) -> str:
    """The blocks of an item; a list right after a paragraph needs no blank line."""
    parts = _rendered(blocks)
    out = ""
    for position, (block, markdown) in enumerate(parts):
        if position:
            out += "\n" if _joins_tightly(*parts[position - 1], block) else "\n\n"
        out += markdown
    return out


def _joins_tightly(previous: dict, previous_markdown: str, block: dict) -> bool:
    """Whether `block` may start on the line after paragraph `previous` (a list that can interrupt it)."""
    if previous.get("type") != "paragraph" or block.get("type") not in LIST_ITEMS:
        return False
    if previous_markdown.startswith("<"):
        # Literal HTML lines (raw HTML blocks) run on until a blank line and would swallow the list.
        return False
    items = block.get("content") or []
    first = (items[0].get("content") or [None])[0] if items else None
    if first is None or _is_empty_paragraph(first):
        return False
    return block["type"] != "orderedList" or _attr(block, "start") == 1


def _is_empty_paragraph(block: dict | None) -> bool:
    """An empty paragraph writes nothing."""
    return block is not None and block.get("type") == "paragraph" and not block.get("content")


def _fence(body: str, info: str) -> str:
    """A fenced code block longer than any fence-like run in its body."""
    char = "~" if "`" in info else "`"
    longest = max((len(run) for run in re.findall(re.escape(char) + "+", body)), default=0)
    fence = char * max(3, longest + 1)
    # An info string starting with the fence character would lengthen the fence instead.
    opening = fence + (" " if info.startswith(char) else "") + info
    return f"{opening}\n{body}\n{fence}" if body else f"{opening}\n{fence}"


def _code_block(block: dict) -> str:
    """Fenced code; the info word is the language."""
    language = str(_attr(block, "language") or "").strip().split()
    info = re.sub(r"([\\&])", r"\\\1", language[0]) if language else ""
    # A fence line holding `|` over a `---` first line would read as a table header.
    info = info.replace("|", "&#124;")
    return _fence("".join(plain_text(child) for child in block.get("content") or []), info)


def _mermaid(block: dict) -> str:
    """A `mermaid` fence whose body is the diagram code."""
    return _fence(str(_attr(block, "code") or ""), "mermaid")


def _table(block: dict) -> str:
    """A GFM pipe table; the first row is the header, alignment is not kept."""
    rows = [row.get("content") or [] for row in block.get("content") or []]
    width = max((len(cells) for cells in rows), default=0)
    if not width:
        return ""
    lines = [_row(cells, width) for cells in rows]
    lines.insert(1, "| " + " | ".join(["---"] * width) + " |")
    return "\n".join(lines)


def _row(cells: list[dict], width: int) -> str:
    """One table row padded to `width` cells."""
    texts = [_cell(cell) for cell in cells] + [""] * (width - len(cells))
    return "| " + " | ".join(texts) + " |"


def _cell(cell: dict) -> str:
    """A cell's paragraphs as one line (blocks joined by `<br>`)."""
    inline: list[dict] = []
    children = cell.get("content") or [] if cell.get("type") in CELLS else [cell]
    for child in children:
        if inline:
            inline.append(node("hardBreak"))
        if child.get("type") in ("paragraph", "heading"):
            inline.extend(child.get("content") or [])
        else:
            inline.append({"type": "text", "text": plain_text(child)})
    return write_textblock(inline, "cell")


def _opaque(block: dict) -> str:
    """A node the editor schema does not know: its text, inline content as a paragraph, blocks as blocks."""
    content = block.get("content") or []
    if block.get("type") == "text" or any(child.get("type") in ("text", "hardBreak") for child in content):
        return write_textblock([block] if block.get("type") == "text" else content, "paragraph")
    if block.get("type") in NODE_ATTRS and not content:
        return ""
    return _join(content)


_SIMPLE = {
    "blockquote": _blockquote,
    "codeBlock": _code_block,
    "mermaid": _mermaid,
    "horizontalRule": lambda _block: "---",
    "image": write_image,
    "table": _table,
}
