"""REST -> live block merge (SPEC §5.4): only changed blocks are replaced, everything else keeps its Yjs items."""

from __future__ import annotations

import random

from pycrdt import Doc, XmlElement, XmlText

from collab.markdown import (
    content_fragment,
    fragment_to_markdown,
    markdown_to_update,
    merge_markdown,
    parse_markdown,
    read_blocks,
    serialize_markdown,
)
from collab.markdown.merge import plan_edits

DOCUMENT = "# Title\n\nFirst paragraph.\n\n- one\n- two\n\nLast paragraph.\n"


def hydrated(markdown: str = DOCUMENT) -> Doc:
    doc = Doc()
    doc.apply_update(markdown_to_update(markdown))
    return doc


def replica(doc: Doc) -> Doc:
    copy = Doc()
    copy.apply_update(doc.get_update())
    return copy


def sync(first: Doc, second: Doc) -> None:
    first_state, second_state = first.get_state(), second.get_state()
    first.apply_update(second.get_update(first_state))
    second.apply_update(first.get_update(second_state))


def append_text(doc: Doc, block: int, value: str) -> None:
    paragraph = content_fragment(doc).children[block]
    run = list(paragraph.children)[-1]
    run.insert(len(run), value)


def test_merge_markdown_same_text_returns_none():
    doc = hydrated()
    before = doc.get_state()
    assert merge_markdown(doc, DOCUMENT) is None
    assert doc.get_state() == before


def test_merge_markdown_equivalent_text_returns_none():
    equivalent = "Title\n=====\n\n\n\nFirst paragraph.   \n\n* one\n* two\n\n\nLast paragraph."
    assert merge_markdown(hydrated(), equivalent) is None


def test_merge_markdown_empty_into_empty_returns_none():
    assert merge_markdown(hydrated(""), "  \n\n") is None


def test_merge_markdown_replaces_only_the_changed_block():
    doc = hydrated()
    fragment = content_fragment(doc)
    kept = [fragment.children[index] for index in (0, 2, 3)]
    update = merge_markdown(doc, DOCUMENT.replace("First", "Changed"))
    assert update is not None
    assert [fragment.children[index] for index in (0, 2, 3)] == kept
    assert fragment.children[1] != kept[0]
    assert fragment_to_markdown(fragment) == DOCUMENT.replace("First", "Changed")


def test_merge_markdown_is_one_transaction_with_the_origin():
    doc = hydrated()
    origins: list = []
    transactions: list = []
    fragment = content_fragment(doc)
    subscriptions = [
        fragment.observe_deep(lambda events: origins.extend(e.transaction.origin for e in events)),
        doc.observe(lambda event: transactions.append(event.update)),
    ]
    merge_markdown(doc, "New title\n\n" + DOCUMENT + "\nmore\n", origin="rest")
    assert len(transactions) == 1
    assert origins and set(origins) == {"rest"}
    assert len(subscriptions) == 2  # held until here so the observers stay registered


def test_merge_markdown_default_origin_is_server():
    doc = hydrated()
    origins: list = []
    fragment = content_fragment(doc)
    subscription = fragment.observe_deep(lambda events: origins.extend(e.transaction.origin for e in events))
    merge_markdown(doc, "changed\n")
    assert subscription is not None and set(origins) == {"server"}


def test_merge_markdown_update_brings_a_replica_to_the_same_state():
    doc = hydrated()
    other = replica(doc)
    update = merge_markdown(doc, "# Title\n\nInserted.\n\nFirst paragraph.\n\nLast paragraph.\n")
    other.apply_update(update)
    assert read_blocks(content_fragment(other)) == read_blocks(content_fragment(doc))
    assert (
        fragment_to_markdown(content_fragment(other)) == "# Title\n\nInserted.\n\nFirst paragraph.\n\nLast paragraph.\n"
    )


def test_merge_markdown_concurrent_edit_in_another_block_survives():
    server = hydrated()
    editor = replica(server)
    append_text(editor, 3, " Typed live.")
    update = merge_markdown(server, DOCUMENT.replace("# Title", "# Renamed"))
    assert update is not None
    sync(server, editor)
    expected = DOCUMENT.replace("# Title", "# Renamed").replace("Last paragraph.", "Last paragraph. Typed live.")
    assert fragment_to_markdown(content_fragment(server)) == expected
    assert fragment_to_markdown(content_fragment(editor)) == expected


def test_merge_markdown_insert_delete_and_reorder():
    doc = hydrated("a\n\nb\n\nc\n\nd\n")
    fragment = content_fragment(doc)
    a, c, d = fragment.children[0], fragment.children[2], fragment.children[3]
    merge_markdown(doc, "a\n\nnew\n\nd\n\nc\n")
    assert fragment_to_markdown(fragment) == "a\n\nnew\n\nd\n\nc\n"
    assert fragment.children[0] == a
    # Of two swapped blocks one keeps its items, the other is written anew.
    assert (fragment.children[2] == d) != (fragment.children[3] == c)


def test_merge_markdown_to_empty_text_leaves_one_empty_paragraph():
    doc = hydrated()
    assert merge_markdown(doc, "") is not None
    assert read_blocks(content_fragment(doc)) == [{"type": "paragraph"}]


def test_merge_markdown_into_an_empty_fragment_writes_everything():
    doc = Doc()
    content_fragment(doc)
    assert merge_markdown(doc, "") is not None
    assert read_blocks(content_fragment(doc)) == [{"type": "paragraph"}]
    merge_markdown(doc, DOCUMENT)
    assert fragment_to_markdown(content_fragment(doc)) == DOCUMENT


def test_merge_markdown_keeps_data_markdown_cannot_hold():
    doc = hydrated("![pic](a.png)\n\n==marked==\n\n```mermaid\ngraph\n```\n\nold\n")
    fragment = content_fragment(doc)
    fragment.children[0].attributes["width"] = 320
    fragment.children[2].attributes["scale"] = 2
    run = list(fragment.children[1].children)[0]
    run.format(0, len(run), {"highlight": {"color": "#ff0"}})
    assert merge_markdown(doc, fragment_to_markdown(fragment).replace("old", "new")) is not None
    image, marked, mermaid, last = read_blocks(fragment)
    assert image["attrs"]["width"] == 320
    assert marked["content"][0]["marks"] == [{"type": "highlight", "attrs": {"color": "#ff0"}}]
    assert mermaid["attrs"] == {"code": "graph", "scale": 2, "width": "780px"}
    assert last == parse_markdown("new")[0]


def test_merge_markdown_keeps_unknown_elements_until_their_block_changes():
    doc = hydrated("intro\n\nend\n")
    fragment = content_fragment(doc)
    callout = XmlElement("callout", {"kind": "warn"}, [XmlElement("paragraph", contents=[XmlText("careful")])])
    fragment.children.insert(1, callout)
    assert fragment_to_markdown(fragment) == "intro\n\ncareful\n\nend\n"
    assert merge_markdown(doc, "intro\n\ncareful\n\nthe end\n") is not None
    assert fragment.children[1] == callout
    assert read_blocks(fragment)[1]["type"] == "callout"
    merge_markdown(doc, "intro\n\nless careful\n\nthe end\n")
    assert read_blocks(fragment)[1] == parse_markdown("less careful")[0]


def test_merge_markdown_unknown_block_with_several_paragraphs_counts_as_unchanged():
    doc = hydrated("x\n")
    fragment = content_fragment(doc)
    paragraphs = [XmlElement("paragraph", contents=[XmlText(value)]) for value in ("one", "two")]
    fragment.children.append(XmlElement("details", contents=paragraphs))
    assert merge_markdown(doc, fragment_to_markdown(fragment)) is None
    assert merge_markdown(doc, "y\n\none\n\ntwo\n") is not None
    assert read_blocks(fragment)[1]["type"] == "details"


def test_merge_markdown_empty_paragraphs_used_as_spacing_survive():
    doc = hydrated("a\n\nb\n")
    fragment = content_fragment(doc)
    fragment.children.insert(1, XmlElement("paragraph"))
    assert merge_markdown(doc, "a\n\nb\n") is None
    assert len(fragment.children) == 3


def test_merge_markdown_keeps_unknown_embeds_beside_changed_blocks():
    doc = hydrated("before\n\nafter\n")
    fragment = content_fragment(doc)
    embed = XmlElement("youtube", {"src": "https://youtu.be/x"})
    fragment.children.insert(1, embed)
    assert fragment_to_markdown(fragment) == "before\n\nafter\n"
    assert merge_markdown(doc, "before\n\nchanged after\n") is not None
    assert [block["type"] for block in read_blocks(fragment)] == ["paragraph", "youtube", "paragraph"]
    assert fragment.children[1] == embed
    assert merge_markdown(doc, "all new\n") is not None
    assert [block["type"] for block in read_blocks(fragment)] == ["paragraph", "youtube"]
    assert fragment_to_markdown(fragment) == "all new\n"


def test_merge_markdown_random_rewrites_converge_on_the_new_text():
    rng = random.Random(7)
    shapes = [
        "para {n}",
        "# head {n}",
        "- a {n}\n- b",
        "1. x {n}",
        "> q {n}",
        "```\ncode {n}\n```",
        "---",
        "- [ ] t {n}",
    ]

    def document() -> str:
        return "\n\n".join(rng.choice(shapes).format(n=rng.randint(0, 3)) for _ in range(rng.randint(0, 7)))

    for _ in range(120):
        old_text, new_text = document(), document()
        doc = hydrated(old_text)
        other = replica(doc)
        update = merge_markdown(doc, new_text)
        expected = serialize_markdown(parse_markdown(new_text))
        if update is None:
            assert serialize_markdown(parse_markdown(old_text)) == expected
        else:
            other.apply_update(update)
        assert fragment_to_markdown(content_fragment(doc)) == expected
        assert fragment_to_markdown(content_fragment(other)) == expected
        assert merge_markdown(doc, new_text) is None


def test_plan_edits_does_not_duplicate_a_kept_embed_named_in_the_target():
    embed = {"type": "youtube", "attrs": {"src": "https://youtu.be/x"}}
    old = [parse_markdown("a")[0], embed, parse_markdown("b")[0]]
    new = [parse_markdown("a2")[0], embed, parse_markdown("b2")[0]]
    edits = plan_edits(old, new)
    assert [(edit.start, edit.stop, edit.blocks) for edit in edits] == [(0, 1, [new[0]]), (2, 3, [new[2]])]
