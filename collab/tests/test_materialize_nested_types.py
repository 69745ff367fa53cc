"""Shared types and values that are not XML nodes, nested inside the blocks of the root `content` (SPEC §5.4, §5.7).

A foreign client (Yjs itself, not the editor's binding) may put a Y.Text, Y.Array, Y.Map, plain values,
binary data, a subdocument or a nested fragment among the children of an element, set one as an
attribute value, or embed one in a text run. The update is accepted (only the root's own children are
checked), and materialization skips what markdown cannot hold: the blocks, the text after those items and
later live edits still reach the stored markdown, which never depends on the objects pycrdt hands out.
"""

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pycrdt
import pytest

from collab import store
from collab.markdown import content_fragment
from collab.tests.live import LIVE_MARKDOWN, normalized, stored_markdown
from collab.tests.rest_state import b64, content_of, post_update, served_state

pytestmark = pytest.mark.django_db

YJS = Path(__file__).resolve().parents[2] / "tests" / "node" / "node_modules" / "yjs"

# Node runs Yjs: reads {yjs, state, kind, target} from stdin, prints the base64 update a foreign client makes.
FOREIGN_CLIENT = r"""
const input = JSON.parse(require('fs').readFileSync(0, 'utf8'))
const Y = require(input.yjs)
const doc = new Y.Doc()
Y.applyUpdate(doc, Buffer.from(input.state, 'base64'))
const before = Y.encodeStateVector(doc)
const values = {
  text: () => [new Y.Text('nested text')],
  array: () => [Y.Array.from(['a', 1])],
  map: () => { const map = new Y.Map(); map.set('k', 'v'); return [map] },
  values: () => ['plain', 42, { obj: [1, 2] }],
  binary: () => [new Uint8Array([1, 2, 3])],
  subdoc: () => [new Y.Doc()],
  fragment: () => [new Y.XmlFragment()],
  element: () => [new Y.XmlElement('paragraph')],
  infinity: () => [Infinity],
  object_with_binary: () => [{ inner: new Uint8Array([4]) }]
}
const [heading, paragraph] = doc.getXmlFragment('content').toArray()
doc.transact(() => {
  if (input.target === 'child') {
    paragraph.insert(paragraph.length, values[input.kind]())
    const after = new Y.XmlText()
    after.insert(0, ' Visible after.')
    paragraph.insert(paragraph.length, [after])
  } else if (input.target === 'attribute') {
    heading.setAttribute('level', values[input.kind]()[0])
    paragraph.setAttribute('extra', values[input.kind]()[0])
  } else if (input.target === 'block_attribute') {
    const fragment = doc.getXmlFragment('content')
    const code = new Y.XmlElement('codeBlock')
    const image = new Y.XmlElement('image')
    fragment.insert(fragment.length, [code, image])
    const source = new Y.XmlText()
    source.insert(0, 'let x = 1')
    code.insert(0, [source])
    code.setAttribute('language', values[input.kind]()[0])
    image.setAttribute('src', 'https://example.com/a.png')
    image.setAttribute('alt', values[input.kind]()[0])
    image.setAttribute('title', values[input.kind]()[0])
  } else {
    const run = paragraph.get(0)
    run.insertEmbed(run.length, values[input.kind]().at(-1))
    run.insert(run.length, ' Visible after.')
  }
})
process.stdout.write(Buffer.from(Y.encodeStateAsUpdate(doc, before)).toString('base64'))
"""

CHILD_KINDS = ["text", "array", "map", "values", "binary", "subdoc", "fragment"]
ATTRIBUTE_KINDS = ["text", "array", "map", "binary", "subdoc", "element", "infinity", "object_with_binary"]
EMBED_KINDS = ["text", "array", "map", "element", "values"]
CASES = (
    [("child", kind) for kind in CHILD_KINDS]
    + [("attribute", kind) for kind in ATTRIBUTE_KINDS]
    + [("block_attribute", kind) for kind in ATTRIBUTE_KINDS]
    + [("embed", kind) for kind in EMBED_KINDS]
)
# Blocks whose attributes a foreign client set to values markdown cannot hold: the attributes take their defaults.
BLOCKS = "\n```\nlet x = 1\n```\n\n![](https://example.com/a.png)\n"


def foreign_update(state: bytes, target: str, kind: str) -> bytes:
    node = shutil.which("node")
    assert node, "Node.js is required for these tests (then run `make node`)"
    assert YJS.is_dir(), "run `make node` first"
    request = json.dumps({"yjs": str(YJS), "state": b64(state), "target": target, "kind": kind})
    result = subprocess.run([node, "-e", FOREIGN_CLIENT], input=request, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return base64.b64decode(result.stdout)


def post_accepted(client, document_id, update: bytes) -> None:
    """POST yjs-state of `update`, accepted."""
    response = post_update(client, document_id, update)
    assert response.status_code == 200, response.content


def type_at_the_end_of_paragraph(state: bytes, suffix: str) -> bytes:
    """The editor's later edit: `suffix` typed at the end of the first paragraph's last text run."""
    doc = pycrdt.Doc()
    doc.apply_update(state)
    before = doc.get_state()
    paragraph = content_fragment(doc).children[1]
    run = paragraph.children[len(paragraph.children) - 1]
    if not isinstance(run, pycrdt.XmlText):  # an element nested last: the run is the first child
        run = paragraph.children[0]
    run.insert(len(run), suffix)
    return doc.get_update(before)


def expected_markdown(target: str, typed: str = "") -> str:
    """The live document's markdown after the foreign update (and `typed` at the end of the first paragraph)."""
    visible = "" if target in ("attribute", "block_attribute") else " Visible after."
    markdown = LIVE_MARKDOWN.replace("First paragraph.", "First paragraph." + visible + typed)
    return normalized(markdown + BLOCKS) if target == "block_attribute" else markdown


@pytest.mark.parametrize(("target", "kind"), CASES, ids=[f"{target}-{kind}" for target, kind in CASES])
def test_materialize_nested_types_are_skipped_and_later_edits_arrive(team, live_doc, target, kind):
    client = team.client("editor")
    post_accepted(client, live_doc.pk, foreign_update(served_state(client, live_doc.pk), target, kind))
    expected = expected_markdown(target)
    assert content_of(client, live_doc.pk) == expected
    # The markdown is a function of the document: built again from the stored state, it is the same.
    assert stored_markdown(live_doc.pk) == expected
    post_accepted(client, live_doc.pk, type_at_the_end_of_paragraph(served_state(client, live_doc.pk), " Typed later."))
    expected = expected_markdown(target, " Typed later.")
    assert content_of(client, live_doc.pk) == expected
    store.compact(live_doc.pk)
    assert stored_markdown(live_doc.pk) == expected
    # A REST write of the markdown merges into the live document block by block.
    written = expected.replace("Second paragraph.", "Second paragraph, rewritten.")
    response = client.patch(f"/api/v1/documents/{live_doc.pk}", {"content": written}, format="json", HTTP_IF_MATCH="*")
    assert response.status_code == 200, response.content
    assert content_of(client, live_doc.pk) == written
    assert stored_markdown(live_doc.pk) == written
