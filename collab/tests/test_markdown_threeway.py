"""Three-way block merge of a REST write into a live document."""

import pycrdt
import pytest

from collab.markdown import fragment_to_markdown, markdown_to_update
from collab.markdown.parse import parse_markdown
from collab.markdown.threeway import merge_three_way, resolve_blocks
from collab.markdown.yxml import content_fragment

BASE = "# Title\n\nPara one\n\nPara two\n\nPara three\n"


def _doc(text: str) -> pycrdt.Doc:
    doc = pycrdt.Doc()
    doc.apply_update(markdown_to_update(text))
    return doc


def _markdown(doc: pycrdt.Doc) -> str:
    return fragment_to_markdown(content_fragment(doc))


def _live_edit(doc: pycrdt.Doc, block: int, suffix: str) -> None:
    text = content_fragment(doc).children[block].children[0]
    text.insert(len(str(text)), suffix)


def test_threeway_keeps_live_edits_the_writer_never_saw():
    doc = _doc(BASE)
    _live_edit(doc, 2, " LIVE")
    merge_three_way(doc, BASE, "# Title\n\nPara one REST\n\nPara two\n\nPara three\n\nAdded\n")
    assert _markdown(doc) == "# Title\n\nPara one REST\n\nPara two LIVE\n\nPara three\n\nAdded\n"


def test_threeway_writer_wins_in_the_block_it_changed():
    doc = _doc(BASE)
    _live_edit(doc, 1, " LIVE")
    merge_three_way(doc, BASE, "# Title\n\nPara one REST\n\nPara two\n\nPara three\n")
    assert "Para one REST\n" in _markdown(doc) and "LIVE" not in _markdown(doc)


def test_threeway_live_insertions_and_deletions_survive():
    live = "# Title\n\nLive intro\n\nPara one\n\nPara three\n"
    merged = resolve_blocks(parse_markdown(BASE), parse_markdown(BASE.replace("Para three", "Para 3")), parse_markdown(live))
    texts = [block["content"][0]["text"] for block in merged]
    assert texts == ["Title", "Live intro", "Para one", "Para 3"]


def test_threeway_concurrent_edit_in_another_block_converges():
    server, client = _doc(BASE), pycrdt.Doc()
    client.apply_update(server.get_update())
    update = merge_three_way(server, BASE, BASE.replace("Para one", "Para one REST"))
    _live_edit(client, 3, " concurrent")
    client.apply_update(update)
    server.apply_update(client.get_update(server.get_state()))
    assert _markdown(server) == _markdown(client)
    assert "Para one REST" in _markdown(client) and "Para three concurrent" in _markdown(client)


@pytest.mark.parametrize("text", [BASE, ""])
def test_threeway_no_change_returns_none(text):
    doc = _doc(text)
    assert merge_three_way(doc, text, text) is None
