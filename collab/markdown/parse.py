"""Markdown -> the editor's block nodes (SPEC §5.7), through markdown-it's syntax tree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from markdown_it.common.utils import unescapeAll
from markdown_it.token import Token

from collab.markdown.engine import markdown_parser
from collab.markdown.inline import inline_nodes
from collab.markdown.schema import merge_text, node, text


@dataclass
class SyntaxNode:
    """A block token with the block tokens nested in it (inline tokens stay a flat list on `inline`)."""

    token: Token
    children: list[SyntaxNode] = field(default_factory=list)

    @property
    def type(self) -> str:
        """The token type without `_open`: `paragraph`, `bullet_list`, `fence`, `inline`…"""
        return self.token.type.removesuffix("_open")


def _fold(tokens: list[Token]) -> list[SyntaxNode]:
    """Nest markdown-it's flat block token stream (block nesting is bounded by the parser's maxNesting)."""
    root = SyntaxNode(Token("root", "", 0))
    stack = [root]
    for token in tokens:
        if token.nesting == -1:
            stack.pop()
            continue
        child = SyntaxNode(token)
        stack[-1].children.append(child)
        if token.nesting == 1:
            stack.append(child)
    return root.children


def parse_markdown(source: str) -> list[dict]:
    """Parse markdown into top-level block nodes; an empty document is one empty paragraph."""
    return _blocks(_fold(markdown_parser().parse(source))) or [node("paragraph")]


def _blocks(children: list[SyntaxNode]) -> list[dict]:
    """Map sibling syntax nodes to block nodes (one syntax node may give several blocks)."""
    out: list[dict] = []
    for child in children:
        handler = _HANDLERS.get(child.type)
        if handler is not None:
            out.extend(handler(child))
    return out


def _inline_of(syntax: SyntaxNode, *, images_as_text: bool = False) -> list[dict]:
    """Inline nodes of a block whose only child is an `inline` syntax node."""
    inline = syntax.children[0] if syntax.children else None
    return inline_nodes(inline.token.children if inline else None, images_as_text=images_as_text)


def _paragraph(syntax: SyntaxNode) -> list[dict]:
    """A paragraph; images inside it split it into paragraphs around block images."""
    content = _inline_of(syntax)
    if not any(item["type"] == "image" for item in content):
        return [node("paragraph", content)]
    blocks: list[dict] = []
    piece: list[dict] = []
    for item in [*content, None]:
        if item is not None and item["type"] != "image":
            piece.append(item)
            continue
        trimmed = _trim(piece)
        if trimmed:
            blocks.append(node("paragraph", trimmed))
        if item is not None:
            blocks.append(item)
        piece = []
    return blocks


def _trim(content: list[dict]) -> list[dict]:
    """Strip the edges of a paragraph piece the way markdown strips a paragraph's edges."""
    while content and content[0]["type"] == "hardBreak":
        content = content[1:]
    while content and content[-1]["type"] == "hardBreak":
        content = content[:-1]
    if content and content[0]["type"] == "text":
        content = [{**content[0], "text": content[0]["text"].lstrip()}, *content[1:]]
    if content and content[-1]["type"] == "text":
        content = [*content[:-1], {**content[-1], "text": content[-1]["text"].rstrip()}]
    content = merge_text(content)
    return content if any(item["type"] != "hardBreak" for item in content) else []


def _heading(syntax: SyntaxNode) -> list[dict]:
    """An ATX or setext heading; its line breaks stay hardBreaks."""
    return [node("heading", _inline_of(syntax, images_as_text=True), level=int(syntax.token.tag[1]))]


def _blockquote(syntax: SyntaxNode) -> list[dict]:
    """A blockquote, never empty."""
    return [node("blockquote", _blocks(syntax.children) or [node("paragraph")])]


def _bullet_list(syntax: SyntaxNode) -> list[dict]:
    """A bullet list, or a task list when every item has a box."""
    items = syntax.children
    if items and all("checked" in item.token.meta for item in items):
        return [node("taskList", [_item(item, "taskItem") for item in items])]
    return [node("bulletList", [_item(item, "listItem") for item in items])]


def _ordered_list(syntax: SyntaxNode) -> list[dict]:
    """An ordered list numbered from its first marker."""
    start = int(syntax.token.attrs.get("start", 1))
    return [node("orderedList", [_item(item, "listItem") for item in syntax.children], start=start)]


def _item(syntax: SyntaxNode, type_: str) -> dict:
    """A list or task item; its content starts with a paragraph."""
    content = _blocks(syntax.children)
    checked = syntax.token.meta.get("checked")
    if type_ == "listItem" and checked is not None:
        # The box was consumed by the parser, but this list is not a task list: give it back as text.
        box = text("[x] " if checked else "[ ] ")
        if content and content[0]["type"] == "paragraph":
            content[0] = node("paragraph", merge_text([box, *content[0].get("content", [])]))
        else:
            content.insert(0, node("paragraph", [box]))
    if not content or content[0]["type"] != "paragraph":
        content.insert(0, node("paragraph"))
    if type_ == "taskItem":
        return node(type_, content, checked=bool(checked))
    return node(type_, content)


def _code_text(source: str) -> list[dict]:
    """The single text child of a code block: its body without the last newline."""
    return [text(source.removesuffix("\n"))] if source.removesuffix("\n") else []


def _fence(syntax: SyntaxNode) -> list[dict]:
    """A fenced code block; the `mermaid` info word makes a mermaid atom."""
    words = unescapeAll(syntax.token.info).split()
    language = words[0] if words else None
    if language == "mermaid":
        return [node("mermaid", code=syntax.token.content.removesuffix("\n"))]
    return [node("codeBlock", _code_text(syntax.token.content), language=language)]


def _code_block(syntax: SyntaxNode) -> list[dict]:
    """An indented code block (no language)."""
    return [node("codeBlock", _code_text(syntax.token.content))]


def _html_block(syntax: SyntaxNode) -> list[dict]:
    """Raw HTML has no node: it stays literal paragraph text, one hardBreak per line break."""
    content: list[dict] = []
    # The first line's indentation (at most three spaces) only positions the block: drop it.
    lines = syntax.token.content.removesuffix("\n").lstrip(" ").split("\n")
    for number, line in enumerate(lines):
        if number:
            content.append(node("hardBreak"))
        content.append(text(line))
    return [node("paragraph", merge_text(content))]


def _table(syntax: SyntaxNode) -> list[dict]:
    """A GFM table; header cells become `tableHeader`, alignment is dropped."""
    rows = [row for section in syntax.children for row in section.children]
    table_rows = [node("tableRow", [_cell(cell) for cell in row.children]) for row in rows]
    return [node("table", table_rows)]


def _cell(syntax: SyntaxNode) -> dict:
    """One cell holding one paragraph."""
    type_ = "tableHeader" if syntax.type == "th" else "tableCell"
    return node(type_, [node("paragraph", _inline_of(syntax, images_as_text=True))])


_HANDLERS: dict[str, Callable[[SyntaxNode], list[dict]]] = {
    "paragraph": _paragraph,
    "heading": _heading,
    "blockquote": _blockquote,
    "bullet_list": _bullet_list,
    "ordered_list": _ordered_list,
    "fence": _fence,
    "code_block": _code_block,
    "hr": lambda _syntax: [node("horizontalRule")],
    "html_block": _html_block,
    "table": _table,
}
