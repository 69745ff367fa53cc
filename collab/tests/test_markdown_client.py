"""What the client's binding reads: y-prosemirror (Node, tests/node) on the fragments the server writes."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

from pycrdt import Doc, XmlElement

from collab.markdown import content_fragment, markdown_to_update, merge_markdown, parse_markdown
from collab.markdown.schema import MARK_RANK, NODE_ATTRS
from collab.tests.test_markdown_roundtrip import CLIENT_DOCUMENTS, TRICKY

SCRIPT = Path(__file__).parent / "node" / "yxml_to_pm.mjs"

CORPUS = [
    "",
    "hello **x**",
    "a\nb",
    "see [docs](https://x.io)",
    "```mermaid\ngraph TD\n  A-->B\n```",
    "- [x] done\n- [ ] open",
    "# H1\n\n###### H6 *i* ~~s~~ `c`",
    "> quote\n>\n> - in list\n>   1. nested",
    "3. three\n4. four\n\n   second paragraph",
    "```python\nprint('x')\n\n```\n\n    indented",
    '---\n\n![alt](a.png "Title")\n\ntext ![i](b.png) around',
    "| a | b |\n| --- | --- |\n| 1<br>2 | `x\\|y` |\n| | **b** |",
    "<u>under</u> ==high== ^sup^ ~sub~ https://bare.io www.x.io",
    "***both*** [**bold link**](https://x.io) **[link bold](https://y.io)**",
    "é😀 日本語 **ü**",
    "[TOC]\n\n:::note\nbody\n:::\n\n<div>raw</div>",
]


def _normalized(node: dict) -> dict:
    """A ProseMirror JSON node with default attrs filled in and attr-less marks without `attrs`."""
    out: dict = {"type": node["type"]}
    if "text" in node:
        out["text"] = node["text"]
    attrs = {**NODE_ATTRS.get(node["type"], {}), **(node.get("attrs") or {})}
    if attrs:
        out["attrs"] = attrs
    marks = sorted(node.get("marks") or [], key=lambda mark: MARK_RANK[mark["type"]])
    if marks:
        out["marks"] = [{"type": m["type"], **({"attrs": m["attrs"]} if m.get("attrs") else {})} for m in marks]
    if node.get("content"):
        out["content"] = [_normalized(child) for child in node["content"]]
    return out


def _client_reads(updates: list[bytes]) -> list[dict]:
    """Run the client's Yjs + y-prosemirror on each update; the ProseMirror JSON of `content`, schema-checked."""
    node = shutil.which("node")
    assert node, "Node.js is required for the client checks (install it, then `make node`)"
    lines = "".join(base64.b64encode(update).decode() + "\n" for update in updates)
    result = subprocess.run([node, str(SCRIPT)], input=lines, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    reads = [json.loads(line) for line in result.stdout.splitlines()]
    assert [read["error"] for read in reads] == [None] * len(updates)
    return [read["doc"] for read in reads]


def test_client_reads_hydrated_fragments_as_the_parsed_nodes():
    docs = _client_reads([markdown_to_update(markdown) for markdown in CORPUS])
    assert len(docs) == len(CORPUS)
    for markdown, doc in zip(CORPUS, docs, strict=True):
        assert doc["type"] == "doc"
        expected = [_normalized(block) for block in parse_markdown(markdown)]
        assert [_normalized(block) for block in doc["content"]] == expected, markdown


def test_client_reads_every_round_trip_document_as_a_valid_document():
    corpus = CLIENT_DOCUMENTS + TRICKY
    docs = _client_reads([markdown_to_update(markdown) for markdown in corpus])
    for markdown, doc in zip(corpus, docs, strict=True):
        expected = [_normalized(block) for block in parse_markdown(markdown)]
        assert [_normalized(block) for block in doc["content"]] == expected, markdown


def test_client_schema_check_rejects_invalid_content():
    doc = Doc()
    fragment = content_fragment(doc)
    fragment.children.append(XmlElement("listItem", contents=[XmlElement("horizontalRule")]))
    node = shutil.which("node")
    assert node
    line = base64.b64encode(doc.get_update()).decode() + "\n"
    result = subprocess.run([node, str(SCRIPT)], input=line, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(result.stdout)["error"]


def test_client_reads_a_merged_fragment():
    doc = Doc()
    doc.apply_update(markdown_to_update(CORPUS[6]))
    new_text = "# H1 changed\n\n###### H6 *i* ~~s~~ `c`\n\n- [ ] added"
    assert merge_markdown(doc, new_text) is not None
    (read,) = _client_reads([doc.get_update()])
    assert [_normalized(block) for block in read["content"]] == [_normalized(b) for b in parse_markdown(new_text)]
