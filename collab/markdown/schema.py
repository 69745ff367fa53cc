"""The editor's node and mark vocabulary (SPEC §5.7) and helpers to build ProseMirror-JSON-like nodes."""

from __future__ import annotations

from typing import Any

_CELL_ATTRS = {"colspan": 1, "rowspan": 1, "colwidth": None}

# Attribute defaults of every node the server may write; a node absent here is unknown.
NODE_ATTRS: dict[str, dict[str, Any]] = {
    "paragraph": {},
    "heading": {"level": 1},
    "blockquote": {},
    "bulletList": {},
    "listItem": {},
    "orderedList": {"start": 1, "type": None},
    "taskList": {},
    "taskItem": {"checked": False},
    "codeBlock": {"language": None},
    "mermaid": {"code": "", "scale": 1, "width": "780px"},
    "horizontalRule": {},
    "image": {"src": None, "alt": None, "title": None, "width": None, "height": None},
    "table": {},
    "tableRow": {},
    "tableHeader": _CELL_ATTRS,
    "tableCell": _CELL_ATTRS,
    "hardBreak": {},
}

# Attribute defaults of every mark, in the order marks are listed on a text node.
MARK_ATTRS: dict[str, dict[str, Any]] = {
    "bold": {},
    "italic": {},
    "strike": {},
    "code": {},
    "link": {"href": None, "target": "_blank", "rel": "noopener noreferrer nofollow", "class": None},
    "underline": {},
    "highlight": {"color": None},
    "superscript": {},
    "subscript": {},
    "textStyle": {"fontFamily": None},
    "comment": {"commentId": None},
}
MARK_RANK = {name: rank for rank, name in enumerate(MARK_ATTRS)}

LIST_ITEMS = {"bulletList": "listItem", "orderedList": "listItem", "taskList": "taskItem"}
CELLS = frozenset({"tableHeader", "tableCell"})


def node(type_: str, content: list[dict] | None = None, /, **attrs: Any) -> dict:
    """A node dict with every attribute of its type (defaults filled in) and its content when not empty."""
    result: dict[str, Any] = {"type": type_}
    defaults = NODE_ATTRS.get(type_)
    if defaults:
        result["attrs"] = {**defaults, **attrs}
    elif attrs:
        result["attrs"] = dict(attrs)
    if content:
        result["content"] = content
    return result


def mark(type_: str, /, **attrs: Any) -> dict:
    """A mark dict; marks with attributes always carry all of them."""
    defaults = MARK_ATTRS.get(type_)
    if defaults:
        return {"type": type_, "attrs": {**defaults, **attrs}}
    return {"type": type_}


def link_mark(href: str) -> dict:
    """The link mark the editor creates for `href`."""
    return mark("link", href=href)


def text(value: str, marks: list[dict] | None = None) -> dict:
    """A text node; `marks` are kept as given (callers sort them)."""
    result: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        result["marks"] = marks
    return result


def normalize_marks(marks: list[dict]) -> list[dict]:
    """One mark per type (the last wins), `code` alone, in schema order."""
    by_type = {m["type"]: m for m in marks}
    if "code" in by_type:
        return [by_type["code"]]
    return sorted(by_type.values(), key=lambda m: MARK_RANK.get(m["type"], len(MARK_RANK)))


def merge_text(nodes: list[dict]) -> list[dict]:
    """Drop empty text nodes and join neighbours that carry the same marks."""
    merged: list[dict] = []
    for item in nodes:
        if item["type"] == "text":
            if not item["text"]:
                continue
            last = merged[-1] if merged else None
            if last is not None and last["type"] == "text" and last.get("marks") == item.get("marks"):
                merged[-1] = {**last, "text": last["text"] + item["text"]}
                continue
        merged.append(item)
    return merged


def plain_text(item: dict) -> str:
    """The text a node contributes when it cannot be written as itself."""
    if item["type"] == "text":
        return item.get("text", "")
    if item["type"] == "hardBreak":
        return "\n"
    return "".join(plain_text(child) for child in item.get("content", []))
