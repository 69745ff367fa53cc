"""Round trips (SPEC §5.7): the client's markdown comes back as written, and one pass is a fixed point."""

from __future__ import annotations

import random
import re

import pytest

from collab.markdown import parse_markdown, serialize_markdown

# Markdown as the client's exporter writes it.
CLIENT_DOCUMENTS = [
    """# Project notes

Some **bold** and *italic* text with `code`, ~~strike~~, <u>underline</u>, ==highlight==, x^2^ and H~2~O.

A [link](https://example.com/path?q=1) and https://bare.example.com here.
Line two of the same paragraph.

## Lists

- one
- two
- three

1. first
2. second

- [ ] todo
- [x] done

> quoted text
> second line
""",
    """```python
def f():
    return `1`
```

```mermaid
graph TD
  A-->B
```

| Name | Value |
| --- | --- |
| a | 1 |
| b<br>c | 2 |

---

![diagram](https://example.com/d.png "Diagram")
""",
    """[TOC]

:::note
Callout body
:::

[youtube:dQw4w9WgXcQ]

[vimeo:123] [gist:user/abc] [pdf:report.pdf]

Footnote ref[^1] and 2 * 3 = 6, snake_case_name, C:\\Users\\me.

> [!note]
> GitHub alert

### Heading with **bold**

5. five
6. six
""",
    """Plain paragraph with "quotes" -- dashes... (c) :smile: and an email-like user@host text.

* * *
""".replace("* * *", "---"),
]

# Inputs chosen to break naive writers.
TRICKY = [
    "",
    "   ",
    "\n\n\n",
    "- a\n  - b\n    - c\n      - d\n- e",
    "1. a\n   1. b\n      - c\n2. d",
    "> - a\n>   - b\n> > nested quote\n> back",
    "- > quote in list\n  > more",
    "```\nuse ``` inside\n````\n```",
    "`` a ` b `` and ` `` `",
    r"\* \_ \[ \] \# \` \\ \~ \^ \= \< \> \| \!",
    "*a* _b_ **c** __d__ ***e*** ~~f~~ ~g~ ^h^ ==i==",
    "| a \\| b | `c\\|d` |\n| --- | --- |\n| e | f |",
    "| a |\n|---|\n| |",
    "<div>\n<b>raw</b>\n</div>\n\n<span>inline</span> <u>under</u> <b>bold</b>",
    "<!-- comment -->",
    "[a](https://x.io/a_(b)) [b](<c d>) [c](e \"title\") [d](f 'single')",
    "![a](b) ![c](d)\n\ntext ![e](f) text",
    "[![img](a.png)](https://x.io)",
    "a  \nb\\\nc<br>d",
    "# a #\n## b ##\n###### c",
    "setext\n===\n\nsetext2\n---",
    "- [ ] \n- [x]\n- [X] a",
    "- [x] a\n- b",
    "1. [ ] x",
    "* a\n* b\n\n- c\n\n+ d",
    "- a\n- \\--\n\n* a\n\n- b\n\n* \\**",
    "1. a\n\n\n2. b",
    "    indented\n\n\tcode",
    "~~~js title\nx\n~~~",
    "```a|b\n---\n```",
    "~~~ ~<`x\ncode\n~~~",
    "- </u>\n\n  - x\n\n    ![i](j)",
    "---\n***\n___",
    "[ref]\n\n[ref]: https://x.io",
    "&amp; &lt; &copy; &#35; &#x41; &nbsp;",
    "**a.**b *(c)*d",
    "x**y**z x*y*z x__y__z",
    "2 * 3 * 4 = 24 and a*b",
    "www.x.io https://y.io/a_b_c mailto:a@b.co a@b.co",
    "http://x.io?a=1&amp;b=2",
    "line ending with backslash\\",
    "trailing spaces   \n  leading spaces",
    "= not setext\n\n== nor this",
    "- \n\n  para after empty item",
    "-\n  - only nested",
    "> \n>\n> ",
    "| a | b |\n|---|---|\n| 1 |",
    "# **Bold heading** with `code`",
    "~~strike *with em* inside~~",
    "<u>**nested** under</u>",
    "^a b^ ~c d~ ^e\\ f^",
    "[link **bold** `code`](https://x.io)",
    "Ünïcödé 日本語 emoji 🎉 text",
    "\u00a0leading nbsp",
    "tab\tinside",
]


def _normalize(markdown: str) -> str:
    """The client's text modulo trailing spaces and runs of blank lines."""
    lines = [line.rstrip() for line in markdown.strip("\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _random_document(rng: random.Random) -> str:
    atoms = [
        "word",
        " ",
        "\n",
        "\n\n",
        "*",
        "**",
        "_",
        "~",
        "~~",
        "^",
        "==",
        "`",
        "[",
        "]",
        "(",
        ")",
        "!",
        "<",
        ">",
        "#",
        "-",
        "+",
        "1.",
        "|",
        "\\",
        "&amp;",
        "<u>",
        "</u>",
        "<br>",
        "[x](y)",
        "![i](j)",
        "https://x.io",
        "\n- ",
        "\n  - ",
        "\n> ",
        "\n1. ",
        "\n```\n",
        "\n    ",
        "[ ] ",
        "[x] ",
        "---",
        "| a | b |\n|---|---|\n",
    ]
    return "".join(rng.choice(atoms) for _ in range(rng.randint(1, 18)))


@pytest.mark.parametrize("document", CLIENT_DOCUMENTS)
def test_roundtrip_client_markdown_comes_back_unchanged(document):
    assert _normalize(serialize_markdown(parse_markdown(document))) == _normalize(document)


@pytest.mark.parametrize("document", CLIENT_DOCUMENTS)
def test_roundtrip_client_markdown_nodes_survive(document):
    blocks = parse_markdown(document)
    assert parse_markdown(serialize_markdown(blocks)) == blocks


@pytest.mark.parametrize("document", TRICKY)
def test_roundtrip_one_pass_is_a_fixed_point(document):
    once = serialize_markdown(parse_markdown(document))
    assert serialize_markdown(parse_markdown(once)) == once


@pytest.mark.parametrize("document", TRICKY)
def test_roundtrip_written_markdown_reads_back_the_same_nodes(document):
    blocks = parse_markdown(serialize_markdown(parse_markdown(document)))
    assert parse_markdown(serialize_markdown(blocks)) == blocks


def test_roundtrip_random_documents_are_fixed_points():
    rng = random.Random(20240611)
    for _ in range(300):
        document = _random_document(rng)
        once = serialize_markdown(parse_markdown(document))
        assert serialize_markdown(parse_markdown(once)) == once, document


def test_roundtrip_huge_document():
    chunk = (
        "## Section {n}\n\nText *{n}* with **bold**, a [link](https://x.io/{n}) and `code_{n}`.\n"
        "Second line.\n\n- item {n}\n  - nested\n\n| a | b |\n| --- | --- |\n| {n} | x |\n\n"
        "```py\nprint({n})\n```\n\n"
    )
    document = "".join(chunk.format(n=n) for n in range(400)).rstrip("\n") + "\n"
    assert len(document) > 60_000
    assert serialize_markdown(parse_markdown(document)) == document
