"""Block nodes <-> the Yjs `XmlFragment` the editor binds (SPEC §5.7 "Yjs form"), with pycrdt."""

from __future__ import annotations

import math
import re
from typing import Any

from pycrdt import Array, Doc, XmlElement, XmlFragment, XmlText

from collab.markdown.parse import parse_markdown
from collab.markdown.schema import MARK_ATTRS, MARK_RANK, merge_text, node, text
from collab.markdown.serialize import serialize_markdown

FRAGMENT_NAME = "content"
# y-prosemirror appends `--<8-char hash>` to the key of marks that may overlap themselves.
_HASH_SUFFIX_RE = re.compile(r"--[A-Za-z0-9+/=_-]{8}$")


def content_fragment(doc: Doc) -> XmlFragment:
    """The editor's root fragment of `doc`."""
    return doc.get(FRAGMENT_NAME, type=XmlFragment)


def write_blocks(parent: XmlFragment | XmlElement, index: int, blocks: list[dict]) -> None:
    """Insert `blocks` as children of `parent` from `index` on (the parent must belong to a Doc)."""
    with parent.doc.transaction():
        for offset, block in enumerate(blocks):
            if block["type"] == "text":
                _insert_text(parent, index + offset, [block])
            else:
                _insert_element(parent, index + offset, block)


def _insert_element(parent: XmlFragment | XmlElement, index: int, item: dict) -> None:
    """One node as an XmlElement: nodeName = type, one attribute per non-null attr."""
    attrs = {key: value for key, value in (item.get("attrs") or {}).items() if value is not None}
    element = parent.children.insert(index, XmlElement(item["type"], attrs))
    count = 0
    run: list[dict] = []
    for child in [*(item.get("content") or []), None]:
        if child is not None and child["type"] == "text":
            run.append(child)
            continue
        if run:
            _insert_text(element, count, run)
            count, run = count + 1, []
        if child is not None:
            _insert_element(element, count, child)
            count += 1


def _insert_text(parent: XmlFragment | XmlElement, index: int, run: list[dict]) -> None:
    """Adjacent text nodes as one XmlText; each mark is a formatting attribute holding its attrs."""
    ytext = parent.children.insert(index, XmlText())
    for item in run:
        formatting = {m["type"]: dict(m.get("attrs") or {}) for m in item.get("marks") or []}
        ytext.insert(len(ytext), item["text"], formatting or None)


def xml_children(parent: XmlFragment | XmlElement) -> list[XmlElement | XmlText]:
    """The XML nodes among `parent`'s children, in order; an `XmlFragment` is the root `content`.

    pycrdt's list of a fragment's children ends at the first item that is not an XML node (a Y.Text,
    Y.Array, Y.Map or plain value a foreign client put in the root): every later block would be missing,
    though the editors still show it. The root is then read through an array view of the same type,
    which lists every item, and the items that are not XML nodes are skipped.
    """
    if not isinstance(parent, XmlFragment):
        return element_children(parent)
    children = list(parent.children)
    if len(children) == len(parent.children):
        return children
    return [item for item in parent.doc.get(FRAGMENT_NAME, type=Array) if isinstance(item, XmlElement | XmlText)]


def has_foreign_items(fragment: XmlFragment) -> bool:
    """Whether the root fragment holds items that are not XML nodes (see `xml_children`)."""
    return len(list(fragment.children)) != len(fragment.children)


def remove_foreign_items(doc: Doc) -> int:
    """Delete the items of the root `content` that are not XML nodes; how many were deleted.

    The editors' binding cannot show them, and pycrdt's fragment view hides every block after them.
    """
    items = doc.get(FRAGMENT_NAME, type=Array)
    with doc.transaction():
        foreign = [index for index, item in enumerate(items) if not isinstance(item, XmlElement | XmlText)]
        for index in reversed(foreign):
            del items[index]
    return len(foreign)


def element_children(element: XmlElement) -> list[XmlElement | XmlText]:
    """The XML nodes among a block's children, in order; the other children are skipped.

    A foreign client may nest a Y.Text, Y.Array, Y.Map, plain values, binary data, a subdocument or an
    XmlFragment among an element's children. pycrdt's list of the children ends at the first one that is
    not an XML node, and reading such a child by index panics in Rust (raised as pyo3's PanicException,
    a BaseException). So when the list is short, every index is read, and what does not read as an
    XmlElement or XmlText is skipped: the XML nodes after a foreign child are still found.
    """
    children = list(element.children)
    count = len(element.children)
    if len(children) < count:
        children = [_child_at(element, index) for index in range(count)]
    return [child for child in children if isinstance(child, XmlElement | XmlText)]


def _child_at(element: XmlElement, index: int) -> object:
    """An element's child at `index`, or None when it is not an XML node (pycrdt panics reading it)."""
    try:
        return element.children[index]
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:
        return None


def read_blocks(fragment: XmlFragment | XmlElement) -> list[dict]:
    """The fragment's children as nodes; unknown elements are kept as opaque nodes, stray text as paragraphs.

    What markdown cannot hold is skipped, wherever a foreign client put it, and reading never fails on it:
    items of the root and children of elements that are not XML nodes (shared types, plain values, binary
    data, subdocuments, nested fragments), attribute values and mark attributes that are not JSON (shared
    types, binary data, subdocuments, non-finite numbers: the attribute takes its default), and embeds in
    text runs. The markdown depends on the document only, never on the objects pycrdt hands out.
    """
    with fragment.doc.transaction():
        blocks = []
        for child in xml_children(fragment):
            if isinstance(child, XmlText):
                blocks.append(node("paragraph", _read_text(child)))
            else:
                blocks.append(_read_element(child))
        return blocks


def _read_element(element: XmlElement) -> dict:
    """One XmlElement and its subtree as a node (missing attributes take their defaults)."""
    attrs = _json_values(dict(element.attributes))
    content: list[dict] = []
    for child in element_children(element):
        if isinstance(child, XmlText):
            content.extend(_read_text(child))
        elif isinstance(child, XmlElement):
            content.append(_read_element(child))
    return node(element.tag or "", merge_text(content), **attrs)


def _read_text(ytext: XmlText) -> list[dict]:
    """The formatted runs of an XmlText as text nodes (embeds are ignored)."""
    return [text(value, _marks(formatting)) for value, formatting in ytext.diff() if isinstance(value, str)]


def _marks(formatting: dict[str, Any] | None) -> list[dict]:
    """Formatting attributes as marks: `true` means no attrs, a hash suffix on the key is dropped."""
    marks = []
    for key, value in (formatting or {}).items():
        if value is None or value is False:
            continue
        name = _HASH_SUFFIX_RE.sub("", key)
        attrs = _json_values(value) if isinstance(value, dict) else {}
        defaults = MARK_ATTRS.get(name)
        if defaults:
            marks.append({"type": name, "attrs": {**defaults, **attrs}})
        elif defaults is None and attrs:
            marks.append({"type": name, "attrs": attrs})
        else:
            marks.append({"type": name})
    return sorted(marks, key=lambda m: MARK_RANK.get(m["type"], len(MARK_RANK)))


_NOT_JSON = object()


def _json_values(values: dict) -> dict[str, Any]:
    """The entries of a Yjs map of attributes whose values are JSON (see `_json`), None values left out."""
    plain = {key: _json(value) for key, value in values.items() if isinstance(key, str)}
    return {key: value for key, value in plain.items() if value is not None and value is not _NOT_JSON}


def _json(value: Any) -> Any:
    """A Yjs value as JSON: numbers without a fraction become ints (Yjs numbers are doubles); `_NOT_JSON` for
    what JSON cannot hold (shared types, binary data, subdocuments, NaN and infinities), or a list or map
    holding any of these."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return _NOT_JSON
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        items = [_json(item) for item in value]
        return _NOT_JSON if any(item is _NOT_JSON for item in items) else items
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            return _NOT_JSON
        entries = {key: _json(item) for key, item in value.items()}
        return _NOT_JSON if any(item is _NOT_JSON for item in entries.values()) else entries
    return _NOT_JSON


def fragment_to_markdown(fragment: XmlFragment) -> str:
    """Markdown for the whole fragment (SPEC §5.4 content materialization)."""
    return serialize_markdown(read_blocks(fragment))


def markdown_to_update(source: str) -> bytes:
    """A Yjs v1 update of a fresh Doc whose `content` fragment holds `source` (hydration)."""
    doc = Doc()
    write_blocks(content_fragment(doc), 0, parse_markdown(source))
    return doc.get_update()
