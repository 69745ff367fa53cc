"""Nodes <-> the Yjs `content` fragment (SPEC §5.7 "Yjs form")."""

from __future__ import annotations

import pytest
from pycrdt import Doc, XmlElement, XmlFragment, XmlText

from collab.markdown import (
    content_fragment,
    fragment_to_markdown,
    markdown_to_update,
    parse_markdown,
    read_blocks,
    write_blocks,
)

LINK_ATTRS = {"href": "https://x.io", "target": "_blank", "rel": "noopener noreferrer nofollow", "class": None}


def hydrate(markdown: str) -> XmlFragment:
    doc = Doc()
    fragment = content_fragment(doc)
    write_blocks(fragment, 0, parse_markdown(markdown))
    return fragment


def children(element) -> list:
    return list(element.children)


def test_yxml_example_bold_is_one_text_run_with_formatting():
    paragraph = children(hydrate("hello **x**"))[0]
    assert paragraph.tag == "paragraph"
    (run,) = children(paragraph)
    assert isinstance(run, XmlText)
    assert run.diff() == [("hello ", None), ("x", {"bold": {}})]


def test_yxml_example_hard_break_sits_between_text_runs():
    first, hard_break, last = children(children(hydrate("a\nb"))[0])
    assert str(first) == "a" and str(last) == "b"
    assert isinstance(hard_break, XmlElement) and hard_break.tag == "hardBreak"
    assert children(hard_break) == [] and list(hard_break.attributes) == []


def test_yxml_example_link_carries_all_four_keys():
    (run,) = children(children(hydrate("see [docs](https://x.io)"))[0])
    assert run.diff() == [("see ", None), ("docs", {"link": LINK_ATTRS})]


def test_yxml_example_mermaid_is_an_atom_with_three_attributes():
    (mermaid,) = children(hydrate("```mermaid\ngraph TD\n  A-->B\n```"))
    assert mermaid.tag == "mermaid"
    assert dict(mermaid.attributes) == {"code": "graph TD\n  A-->B", "scale": 1, "width": "780px"}
    assert children(mermaid) == []


def test_yxml_example_task_item_checked_is_a_boolean():
    (task_list,) = children(hydrate("- [x] done"))
    (task_item,) = children(task_list)
    assert task_item.attributes["checked"] is True
    (paragraph,) = children(task_item)
    assert str(children(paragraph)[0]) == "done"


def test_yxml_attributes_keep_json_types_and_skip_nulls():
    heading, ordered, code, image = children(hydrate("## h\n\n3. a\n\n```\nx\n```\n\n![a](b.png)"))
    assert heading.attributes["level"] == 2
    assert dict(ordered.attributes) == {"start": 3}
    assert dict(code.attributes) == {}
    assert dict(image.attributes) == {"src": "b.png", "alt": "a"}


def test_yxml_empty_paragraph_has_no_children():
    (paragraph,) = children(hydrate(""))
    assert paragraph.tag == "paragraph" and children(paragraph) == []


def test_yxml_unicode_text_keeps_mark_ranges():
    markdown = "é😀 **b日本** ~~ü~~"
    assert read_blocks(hydrate(markdown)) == parse_markdown(markdown)


@pytest.mark.parametrize(
    "markdown",
    [
        "# T *i* ==h== ^s^ ~t~ <u>u</u> `c` [l](https://x.io)",
        "- a\n  - b\n\n1. x\n\n- [ ] t",
        "> q\n>\n> ```js\n> code\n> ```",
        "| a | b |\n| --- | --- |\n| 1<br>2 | |",
        '![i](a.png "T")\n\n---\n\n```mermaid\ngraph\n```',
    ],
)
def test_yxml_read_gives_back_what_was_written(markdown):
    assert read_blocks(hydrate(markdown)) == parse_markdown(markdown)


def test_yxml_write_blocks_into_an_element_at_an_index():
    fragment = hydrate("> a\n>\n> c")
    quote = children(fragment)[0]
    write_blocks(quote, 1, parse_markdown("b"))
    assert fragment_to_markdown(fragment) == "> a\n>\n> b\n>\n> c\n"


def test_yxml_read_accepts_true_and_hashed_mark_keys():
    doc = Doc()
    fragment = content_fragment(doc)
    paragraph = fragment.children.append(XmlElement("paragraph"))
    run = paragraph.children.append(XmlText())
    run.insert(0, "a", {"bold": True})
    run.insert(1, "b", {"link--a1B2c3D4": {"href": "https://x.io"}})
    assert read_blocks(fragment) == [
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "a", "marks": [{"type": "bold"}]},
                {"type": "text", "text": "b", "marks": [{"type": "link", "attrs": LINK_ATTRS}]},
            ],
        }
    ]
    assert fragment_to_markdown(fragment) == "**a**[b](https://x.io)\n"


def test_yxml_missing_attributes_take_defaults():
    doc = Doc()
    fragment = content_fragment(doc)
    fragment.children.append(XmlElement("heading", contents=[XmlText("t")]))
    fragment.children.append(XmlElement("taskList", contents=[XmlElement("taskItem")]))
    heading, task_list = read_blocks(fragment)
    assert heading["attrs"] == {"level": 1}
    assert task_list["content"][0]["attrs"] == {"checked": False}


def test_yxml_unknown_elements_are_opaque_and_give_their_text():
    doc = Doc()
    fragment = content_fragment(doc)
    callout = fragment.children.append(XmlElement("callout", {"kind": "warn"}))
    inner = callout.children.append(XmlElement("paragraph"))
    inner.children.append(XmlText("careful"))
    paragraph = fragment.children.append(XmlElement("paragraph"))
    paragraph.children.append(XmlText("see "))
    paragraph.children.append(XmlElement("footnoteReference", {"id": "1"}, [XmlText("1")]))
    run = paragraph.children.append(XmlText())
    run.insert(0, " big", {"fontSize": {"size": "20px"}})
    blocks = read_blocks(fragment)
    assert blocks[0] == {
        "type": "callout",
        "attrs": {"kind": "warn"},
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "careful"}]}],
    }
    assert blocks[1]["content"][1]["type"] == "footnoteReference"
    assert blocks[1]["content"][2]["marks"] == [{"type": "fontSize", "attrs": {"size": "20px"}}]
    assert fragment_to_markdown(fragment) == "careful\n\nsee 1 big\n"


def test_yxml_data_markdown_cannot_hold_is_read_but_not_written():
    doc = Doc()
    fragment = content_fragment(doc)
    fragment.children.append(XmlElement("image", {"src": "a.png", "width": 300, "height": 200}))
    paragraph = fragment.children.append(XmlElement("paragraph"))
    run = paragraph.children.append(XmlText())
    run.insert(0, "hi", {"highlight": {"color": "#ff0"}, "comment": {"commentId": "c1"}})
    image, text_block = read_blocks(fragment)
    assert image["attrs"]["width"] == 300 and image["attrs"]["height"] == 200
    assert text_block["content"][0]["marks"][0] == {"type": "highlight", "attrs": {"color": "#ff0"}}
    assert fragment_to_markdown(fragment) == "![](a.png)\n\n==hi==\n"


def test_yxml_stray_top_level_text_reads_as_a_paragraph():
    doc = Doc()
    fragment = content_fragment(doc)
    fragment.children.append(XmlText("loose"))
    assert read_blocks(fragment) == [{"type": "paragraph", "content": [{"type": "text", "text": "loose"}]}]


def test_yxml_markdown_to_update_hydrates_a_fresh_doc():
    markdown = "# Title\n\nBody with **bold**.\n\n- [ ] task\n"
    doc = Doc()
    doc.apply_update(markdown_to_update(markdown))
    assert read_blocks(content_fragment(doc)) == parse_markdown(markdown)
    assert fragment_to_markdown(content_fragment(doc)) == markdown


def test_yxml_markdown_to_update_of_empty_text_is_one_empty_paragraph():
    doc = Doc()
    doc.apply_update(markdown_to_update(""))
    assert read_blocks(content_fragment(doc)) == [{"type": "paragraph"}]


def test_yxml_unknown_element_attributes_of_any_name_are_kept():
    doc = Doc()
    fragment = content_fragment(doc)
    fragment.children.append(XmlElement("embed", {"content": "x", "type": "video", "size": 2.5}))
    assert read_blocks(fragment) == [{"type": "embed", "attrs": {"content": "x", "type": "video", "size": 2.5}}]
    assert fragment_to_markdown(fragment) == ""
