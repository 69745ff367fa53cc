"""Editor nodes -> markdown (the writer of SPEC §5.7): every node, every mark, escaping, odd input."""

from __future__ import annotations

import pytest

from collab.markdown import parse_markdown, serialize_markdown

LINK = {"type": "link", "attrs": {"href": "https://x.io", "target": "_blank", "rel": "x", "class": "c"}}
BR = {"type": "hardBreak"}


def t(value: str, *marks: dict) -> dict:
    node = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def p(*content: dict) -> dict:
    return {"type": "paragraph", "content": list(content)}


def item(*content: dict, type_: str = "listItem", **attrs) -> dict:
    node = {"type": type_, "content": list(content)}
    if attrs:
        node["attrs"] = attrs
    return node


def cell(type_: str, *content: dict) -> dict:
    return {"type": type_, "content": [p(*content)]}


def write(*blocks: dict) -> str:
    return serialize_markdown(list(blocks))


# --- nodes --------------------------------------------------------------------------------------


def test_serialize_markdown_empty_document_is_empty_text():
    assert write({"type": "paragraph"}) == ""
    assert serialize_markdown([]) == ""


def test_serialize_markdown_paragraphs_with_hard_break():
    assert write(p(t("a"), BR, t("b")), p(t("c"))) == "a\nb\n\nc\n"


@pytest.mark.parametrize("level", range(1, 7))
def test_serialize_markdown_atx_headings(level):
    assert write({"type": "heading", "attrs": {"level": level}, "content": [t("T")]}) == "#" * level + " T\n"


def test_serialize_markdown_heading_default_level_and_break():
    assert write({"type": "heading", "content": [t("a"), BR, t("b")]}) == "# a<br>b\n"


def test_serialize_markdown_blockquote():
    quote = {"type": "blockquote", "content": [p(t("a")), p(t("b"), BR, t("c"))]}
    assert write(quote) == "> a\n>\n> b\n> c\n"


def test_serialize_markdown_bullet_list_nested():
    inner = {"type": "bulletList", "content": [item(p(t("b")))]}
    assert write({"type": "bulletList", "content": [item(p(t("a")), inner), item(p(t("c")))]}) == "- a\n  - b\n- c\n"


def test_serialize_markdown_ordered_list_numbers_from_start():
    ordered = {
        "type": "orderedList",
        "attrs": {"start": 9, "type": None},
        "content": [item(p(t("a"))), item(p(t("b")))],
    }
    assert write(ordered) == "9. a\n10. b\n"


def test_serialize_markdown_ordered_list_default_start_and_item_blocks():
    ordered = {"type": "orderedList", "content": [item(p(t("a")), p(t("more"))), item(p(t("b")))]}
    assert write(ordered) == "1. a\n\n   more\n2. b\n"


def test_serialize_markdown_task_list():
    tasks = {
        "type": "taskList",
        "content": [item(p(t("a")), type_="taskItem", checked=False), item(p(t("b")), type_="taskItem", checked=True)],
    }
    assert write(tasks) == "- [ ] a\n- [x] b\n"


def test_serialize_markdown_task_item_without_attrs_is_unchecked():
    assert write({"type": "taskList", "content": [item(p(t("a")), type_="taskItem")]}) == "- [ ] a\n"


def test_serialize_markdown_adjacent_lists_stay_separate():
    first = {"type": "bulletList", "content": [item(p(t("a")))]}
    second = {"type": "taskList", "content": [item(p(t("b")), type_="taskItem", checked=False)]}
    ordered = {"type": "orderedList", "content": [item(p(t("c")))]}
    markdown = write(first, second, {"type": "paragraph"}, dict(first), ordered, dict(ordered))
    assert markdown == "- a\n\n* [ ] b\n\n- a\n\n1. c\n\n1) c\n"
    kinds = ["bulletList", "taskList", "bulletList", "orderedList", "orderedList"]
    assert [b["type"] for b in parse_markdown(markdown)] == kinds


def test_serialize_markdown_code_block_with_language():
    code = {"type": "codeBlock", "attrs": {"language": "py"}, "content": [t("print(1)\n\nx")]}
    assert write(code) == "```py\nprint(1)\n\nx\n```\n"


def test_serialize_markdown_code_block_with_backtick_fences_inside():
    code = {"type": "codeBlock", "attrs": {"language": None}, "content": [t("```\n````")]}
    assert write(code) == "`````\n```\n````\n`````\n"


def test_serialize_markdown_empty_code_block():
    assert write({"type": "codeBlock", "attrs": {"language": "js"}}) == "```js\n```\n"


def test_serialize_markdown_mermaid_body_is_code():
    mermaid = {"type": "mermaid", "attrs": {"code": "graph TD\n  A-->B", "scale": 2, "width": "100px"}}
    assert write(mermaid) == "```mermaid\ngraph TD\n  A-->B\n```\n"


def test_serialize_markdown_horizontal_rule():
    assert write(p(t("a")), {"type": "horizontalRule"}, p(t("b"))) == "a\n\n---\n\nb\n"


def test_serialize_markdown_image_drops_size():
    image = {"type": "image", "attrs": {"src": "a b.png", "alt": "x", "title": "T", "width": 40, "height": 30}}
    assert write(image) == '![x](<a b.png> "T")\n'


def test_serialize_markdown_image_minimal():
    assert write({"type": "image", "attrs": {"src": "a.png"}}) == "![](a.png)\n"


def test_serialize_markdown_table():
    table = {
        "type": "table",
        "content": [
            {"type": "tableRow", "content": [cell("tableHeader", t("a")), cell("tableHeader", t("b"))]},
            {"type": "tableRow", "content": [cell("tableCell", t("x"), BR, t("y")), cell("tableCell", t("p|q"))]},
        ],
    }
    assert write(table) == "| a | b |\n| --- | --- |\n| x<br>y | p\\|q |\n"


def test_serialize_markdown_ragged_table_is_padded():
    table = {
        "type": "table",
        "content": [
            {"type": "tableRow", "content": [cell("tableHeader", t("a"))]},
            {"type": "tableRow", "content": [cell("tableCell", t("x")), cell("tableCell", t("y"))]},
        ],
    }
    assert write(table) == "| a |  |\n| --- | --- |\n| x | y |\n"


# --- marks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mark", "expected"),
    [
        ({"type": "bold"}, "**x**"),
        ({"type": "italic"}, "*x*"),
        ({"type": "strike"}, "~~x~~"),
        ({"type": "code"}, "`x`"),
        ({"type": "underline"}, "<u>x</u>"),
        ({"type": "highlight", "attrs": {"color": "#ff0"}}, "==x=="),
        ({"type": "superscript"}, "^x^"),
        ({"type": "subscript"}, "~x~"),
        (LINK, "[x](https://x.io)"),
        ({"type": "textStyle", "attrs": {"fontFamily": "serif"}}, "x"),
        ({"type": "comment", "attrs": {"commentId": "c1"}}, "x"),
        ({"type": "fontSize", "attrs": {"size": 3}}, "x"),
    ],
)
def test_serialize_markdown_marks(mark, expected):
    assert write(p(t("a "), t("x", mark), t(" b"))) == f"a {expected} b\n"


def test_serialize_markdown_overlapping_marks_nest():
    assert write(p(t("a", {"type": "bold"}), t("b", {"type": "bold"}, {"type": "italic"}))) == "**a*b***\n"


def test_serialize_markdown_link_spanning_marks_is_one_link():
    assert write(p(t("a", LINK), t("b", LINK, {"type": "bold"}))) == "[a**b**](https://x.io)\n"


def test_serialize_markdown_code_with_backticks():
    assert write(p(t("a`b", {"type": "code"}))) == "``a`b``\n"
    assert write(p(t("`", {"type": "code"}))) == "`` ` ``\n"


def test_serialize_markdown_mark_true_value_and_code_with_others():
    assert write(p(t("x", {"type": "code"}, {"type": "bold"}))) == "`x`\n"


def test_serialize_markdown_bare_url_link_stays_bare():
    url = {"type": "link", "attrs": {"href": "https://x.io/a_b"}}
    assert write(p(t("see "), t("https://x.io/a_b", url))) == "see https://x.io/a_b\n"


def test_serialize_markdown_superscript_with_spaces_is_escaped():
    assert write(p(t("a b", {"type": "superscript"}))) == "^a\\ b^\n"


# --- escaping -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2 * 3 * 4", "2 * 3 * 4"),
        ("snake_case_name", "snake_case_name"),
        ("[TOC]", "[TOC]"),
        ("*not italic*", "\\*not italic\\*"),
        ("_x_", "\\_x\\_"),
        ("# not heading", "\\# not heading"),
        ("- not a list", "\\- not a list"),
        ("1. not a list", "1\\. not a list"),
        ("> not a quote", "\\> not a quote"),
        ("[a](b)", "\\[a\\](b)"),
        ("`tick`", "\\`tick\\`"),
        ("a <b> c", "a <b> c"),
        ("a <b>x</b> c", "a \\<b>x\\</b> c"),
        ("see www.x.io or a@b.co", "see www\\.x.io or a\\@b.co"),
        ("&amp;", "\\&amp;"),
        ("==x==", "\\=\\=x\\=\\="),
        ("~x~", "\\~x\\~"),
        ("  lead", "&#32;&#32;lead"),
    ],
)
def test_serialize_markdown_escapes_only_what_would_be_read(value, expected):
    markdown = write(p(t(value)))
    assert markdown == expected + "\n"
    assert parse_markdown(markdown) == [p(t(value))]


def test_serialize_markdown_box_like_item_text_is_escaped():
    markdown = write({"type": "bulletList", "content": [item(p(t("[x] not a task")))]})
    assert markdown == "- \\[x] not a task\n"
    assert parse_markdown(markdown)[0]["type"] == "bulletList"


def test_serialize_markdown_flanking_trouble_falls_back_to_html_tags():
    blocks = [p(t("a"), t(" b ", {"type": "bold"}), t("c"))]
    markdown = serialize_markdown(blocks)
    assert markdown == "a<strong> b </strong>c\n"
    assert parse_markdown(markdown) == blocks


def test_serialize_markdown_text_with_newlines_and_nul():
    assert write(p(t("a\r\nb\x00"))) == "a\nb\ufffd\n"


# --- unknown and misplaced nodes ----------------------------------------------------------------


def test_serialize_markdown_unknown_block_gives_its_text():
    callout = {"type": "callout", "attrs": {"kind": "note"}, "content": [p(t("one")), p(t("two", {"type": "bold"}))]}
    assert write(callout) == "one\n\n**two**\n"


def test_serialize_markdown_unknown_inline_gives_text():
    footnote = {"type": "footnoteReference", "attrs": {"id": 1}, "content": [t("1")]}
    assert write(p(t("see "), footnote)) == "see 1\n"


def test_serialize_markdown_unknown_textblock_is_a_paragraph():
    assert write({"type": "toc", "content": [t("Contents")]}) == "Contents\n"


def test_serialize_markdown_inline_image_in_paragraph():
    image = {"type": "image", "attrs": {"src": "i.png", "alt": "i"}}
    assert write(p(t("a "), image, t(" b"))) == "a ![i](i.png) b\n"
