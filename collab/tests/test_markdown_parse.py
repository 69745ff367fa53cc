"""Markdown -> editor nodes (SPEC §5.7): every node, every mark, the examples, the reading rules."""

from __future__ import annotations

import pytest

from collab.markdown import parse_markdown

LINK_ATTRS = {"href": "https://x.io", "target": "_blank", "rel": "noopener noreferrer nofollow", "class": None}
CELL_ATTRS = {"colspan": 1, "rowspan": 1, "colwidth": None}


def t(value: str, *marks: dict) -> dict:
    node = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def p(*content: dict) -> dict:
    return {"type": "paragraph", "content": list(content)} if content else {"type": "paragraph"}


def m(name: str, **attrs) -> dict:
    return {"type": name, "attrs": attrs} if attrs else {"type": name}


BR = {"type": "hardBreak"}


def only(markdown: str) -> dict:
    blocks = parse_markdown(markdown)
    assert len(blocks) == 1, blocks
    return blocks[0]


# --- SPEC §5.7 examples -------------------------------------------------------------------------


def test_parse_markdown_example_bold():
    assert parse_markdown("hello **x**") == [p(t("hello "), t("x", m("bold")))]


def test_parse_markdown_example_newline_is_hard_break():
    assert parse_markdown("a\nb") == [p(t("a"), BR, t("b"))]


def test_parse_markdown_example_link_has_all_four_attrs():
    assert parse_markdown("see [docs](https://x.io)") == [p(t("see "), t("docs", m("link", **LINK_ATTRS)))]


def test_parse_markdown_example_mermaid_fence():
    assert parse_markdown("```mermaid\ngraph TD\n  A-->B\n```") == [
        {"type": "mermaid", "attrs": {"code": "graph TD\n  A-->B", "scale": 1, "width": "780px"}}
    ]


def test_parse_markdown_example_task_item():
    assert parse_markdown("- [x] done") == [
        {"type": "taskList", "content": [{"type": "taskItem", "attrs": {"checked": True}, "content": [p(t("done"))]}]}
    ]


# --- nodes --------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["", "   ", "\n\n\n", " \t\n  \n"])
def test_parse_markdown_empty_document_is_one_empty_paragraph(source):
    assert parse_markdown(source) == [p()]


@pytest.mark.parametrize("level", range(1, 7))
def test_parse_markdown_atx_heading_levels(level):
    assert only("#" * level + " Title") == {"type": "heading", "attrs": {"level": level}, "content": [t("Title")]}


@pytest.mark.parametrize(("source", "level"), [("Title\n=====", 1), ("Title\n---", 2)])
def test_parse_markdown_setext_heading(source, level):
    assert only(source) == {"type": "heading", "attrs": {"level": level}, "content": [t("Title")]}


def test_parse_markdown_heading_closing_hashes_dropped():
    assert only("## a ##")["content"] == [t("a")]


def test_parse_markdown_blockquote_holds_blocks():
    assert only("> a\n>\n> - b") == {
        "type": "blockquote",
        "content": [p(t("a")), {"type": "bulletList", "content": [{"type": "listItem", "content": [p(t("b"))]}]}],
    }


def test_parse_markdown_empty_blockquote_gets_a_paragraph():
    assert only(">") == {"type": "blockquote", "content": [p()]}


@pytest.mark.parametrize("bullet", ["-", "*", "+"])
def test_parse_markdown_bullet_list_markers(bullet):
    assert only(f"{bullet} a\n{bullet} b") == {
        "type": "bulletList",
        "content": [{"type": "listItem", "content": [p(t("a"))]}, {"type": "listItem", "content": [p(t("b"))]}],
    }


def test_parse_markdown_nested_list_items_start_with_a_paragraph():
    item = only("- a\n  - b\n    - c")["content"][0]
    assert item["content"][0] == p(t("a"))
    inner = item["content"][1]["content"][0]
    assert inner["content"][0] == p(t("b"))
    assert inner["content"][1]["content"][0]["content"] == [p(t("c"))]


def test_parse_markdown_item_without_leading_paragraph_gets_an_empty_one():
    item = only("-\n  ```\n  x\n  ```")["content"][0]
    assert item["content"][0] == p()
    assert item["content"][1]["type"] == "codeBlock"


@pytest.mark.parametrize(("source", "start"), [("1. a\n2. b", 1), ("3. a\n4. b", 3), ("0) a", 0)])
def test_parse_markdown_ordered_list_start(source, start):
    block = only(source)
    assert block["type"] == "orderedList"
    assert block["attrs"] == {"start": start, "type": None}


def test_parse_markdown_task_list_checked_and_unchecked():
    block = only("- [ ] a\n- [x] b\n- [X] c")
    assert block["type"] == "taskList"
    assert [item["attrs"]["checked"] for item in block["content"]] == [False, True, True]
    assert [item["content"] for item in block["content"]] == [[p(t("a"))], [p(t("b"))], [p(t("c"))]]


def test_parse_markdown_task_list_only_when_every_item_has_a_box():
    block = only("- [x] a\n- b")
    assert block["type"] == "bulletList"
    assert block["content"][0]["content"] == [p(t("[x] a"))]
    assert block["content"][1]["content"] == [p(t("b"))]


def test_parse_markdown_ordered_list_boxes_stay_text():
    block = only("1. [ ] a")
    assert block["type"] == "orderedList"
    assert block["content"][0]["content"] == [p(t("[ ] a"))]


def test_parse_markdown_fenced_code_with_language():
    assert only("```python\nprint(1)\n\nx = 2\n```") == {
        "type": "codeBlock",
        "attrs": {"language": "python"},
        "content": [t("print(1)\n\nx = 2")],
    }


def test_parse_markdown_fence_language_is_the_first_info_word():
    assert only("~~~js title=x\nlet a\n~~~")["attrs"] == {"language": "js"}


def test_parse_markdown_indented_code_has_no_language():
    assert only("    x = 1\n    y") == {"type": "codeBlock", "attrs": {"language": None}, "content": [t("x = 1\ny")]}


def test_parse_markdown_empty_code_block_has_no_text():
    assert only("```\n```") == {"type": "codeBlock", "attrs": {"language": None}}


def test_parse_markdown_code_keeps_markdown_literal():
    assert only("```\n**not bold** `x`\n```")["content"] == [t("**not bold** `x`")]


@pytest.mark.parametrize("rule", ["---", "***", "___", "- - -"])
def test_parse_markdown_horizontal_rule(rule):
    assert parse_markdown(f"a\n\n{rule}\n\nb")[1] == {"type": "horizontalRule"}


def test_parse_markdown_image_block_with_title():
    assert only('![alt text](pic.png "Title")') == {
        "type": "image",
        "attrs": {"src": "pic.png", "alt": "alt text", "title": "Title", "width": None, "height": None},
    }


def test_parse_markdown_image_without_alt_or_title():
    assert only("![](pic.png)")["attrs"] == {
        "src": "pic.png",
        "alt": None,
        "title": None,
        "width": None,
        "height": None,
    }


def test_parse_markdown_image_inside_text_splits_the_paragraph():
    blocks = parse_markdown("before ![i](a.png) after\nnext")
    assert [b["type"] for b in blocks] == ["paragraph", "image", "paragraph"]
    assert blocks[0] == p(t("before"))
    assert blocks[2] == p(t("after"), BR, t("next"))


def test_parse_markdown_image_inside_list_item_follows_a_paragraph():
    item = only("- ![i](a.png)")["content"][0]
    assert [b["type"] for b in item["content"]] == ["paragraph", "image"]


def test_parse_markdown_table_header_row_and_cells():
    block = only("| a | b |\n| :-- | --: |\n| c | d |")
    header, body = block["content"]
    assert header["content"] == [
        {"type": "tableHeader", "attrs": CELL_ATTRS, "content": [p(t("a"))]},
        {"type": "tableHeader", "attrs": CELL_ATTRS, "content": [p(t("b"))]},
    ]
    assert body["content"] == [
        {"type": "tableCell", "attrs": CELL_ATTRS, "content": [p(t("c"))]},
        {"type": "tableCell", "attrs": CELL_ATTRS, "content": [p(t("d"))]},
    ]


def test_parse_markdown_table_cells_br_and_pipes_and_missing_cells():
    block = only("| a | b |\n|---|---|\n| x<br>y \\| z |")
    cells = block["content"][1]["content"]
    assert cells[0]["content"] == [p(t("x"), BR, t("y | z"))]
    assert cells[1]["content"] == [p()]


def test_parse_markdown_table_code_with_escaped_pipe():
    cell = only("| `a\\|b` |\n|---|")["content"][0]["content"][0]
    assert cell["content"] == [p(t("a|b", m("code")))]


@pytest.mark.parametrize("source", ["a  \nb", "a\\\nb", "a<br>b", "a<br/>b", "a<br />b"])
def test_parse_markdown_hard_break_forms(source):
    assert only(source) == p(t("a"), BR, t("b"))


def test_parse_markdown_html_block_stays_literal_text():
    assert only("<div>\n  hi\n</div>") == p(t("<div>"), BR, t("  hi"), BR, t("</div>"))


# --- marks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "mark"),
    [
        ("**x**", m("bold")),
        ("__x__", m("bold")),
        ("*x*", m("italic")),
        ("_x_", m("italic")),
        ("~~x~~", m("strike")),
        ("<u>x</u>", m("underline")),
        ("==x==", m("highlight", color=None)),
        ("^x^", m("superscript")),
        ("~x~", m("subscript")),
        ("`x`", m("code")),
    ],
)
def test_parse_markdown_marks(source, mark):
    assert only(source) == p(t("x", mark))


@pytest.mark.parametrize(
    ("source", "href", "label"),
    [
        ("<https://x.io>", "https://x.io", "https://x.io"),
        ("https://x.io", "https://x.io", "https://x.io"),
        ("www.x.io", "http://www.x.io", "www.x.io"),
        ("[a](https://x.io/a_(b))", "https://x.io/a_(b)", "a"),
        ("[a](<https://x.io/a b>)", "https://x.io/a%20b", "a"),
    ],
)
def test_parse_markdown_links(source, href, label):
    attrs = {**LINK_ATTRS, "href": href}
    assert only(source) == p(t(label, m("link", **attrs)))


def test_parse_markdown_reference_links_resolve():
    assert only("[a][r]\n\n[r]: https://x.io") == p(t("a", m("link", **LINK_ATTRS)))


def test_parse_markdown_nested_marks_in_schema_order():
    assert only("***x***") == p(t("x", m("bold"), m("italic")))
    assert only("[**x**](https://x.io)") == p(t("x", m("bold"), m("link", **LINK_ATTRS)))


def test_parse_markdown_code_mark_stands_alone():
    assert only("**`x`**") == p(t("x", m("code")))
    assert only("[`x`](https://x.io)") == p(t("x", m("code")))


def test_parse_markdown_one_tilde_is_subscript_two_are_strike():
    assert only("~a~ ~~b~~") == p(t("a", m("subscript")), t(" "), t("b", m("strike")))


def test_parse_markdown_unpaired_html_tags_stay_text():
    assert only("a <u>b") == p(t("a <u>b"))
    assert only("<span>x</span>") == p(t("<span>x</span>"))


def test_parse_markdown_escaped_characters_are_literal():
    assert only(r"\* \_ \[ \] \# \` \\ \~ \^ \= \<") == p(t("* _ [ ] # ` \\ ~ ^ = <"))


def test_parse_markdown_entities_are_decoded():
    assert only("&amp; &copy; &#65;") == p(t("& © A"))


# --- client-only syntaxes and disabled extensions -----------------------------------------------


@pytest.mark.parametrize(
    "source",
    ["[TOC]", "[youtube:abc123]", "[vimeo:42]", "[gist:user/id]", "[pdf:file.pdf]", "see [^1] here", ":::note"],
)
def test_parse_markdown_client_syntaxes_stay_literal(source):
    assert only(source) == p(t(source))


def test_parse_markdown_callout_fence_stays_paragraph_text():
    assert only(":::warning\nCareful\n:::") == p(t(":::warning"), BR, t("Careful"), BR, t(":::"))


def test_parse_markdown_github_alert_is_a_plain_blockquote():
    assert only("> [!note]\n> body") == {"type": "blockquote", "content": [p(t("[!note]"), BR, t("body"))]}


def test_parse_markdown_no_typographer_no_emoji():
    source = "\"quotes\" 'single' -- --- ... (c) :smile: :+1:"
    assert only(source) == p(t(source))
