"""Comment markdown rendering: the allow-listed HTML of the contract, mentions, and an XSS corpus.

No database: these are pure functions. The XSS checks parse the output with ``html.parser`` rather than searching
substrings, so what is asserted is what a browser would build: the tags and attributes, not the text.
"""

from __future__ import annotations

import unicodedata
import uuid
from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from documents import comment_html
from documents.comment_html import render_comment_html

UID = "7c9e6679-7425-40de-944b-e07fc1f63ca4"
OTHER = "16fd2706-8baf-433b-82eb-8c7fada847da"
SAFE_SCHEMES = ("http:", "https:", "mailto:")
FORBIDDEN_ATTRIBUTES = {"style", "src", "srcdoc", "formaction"}
B64_SCRIPT = "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="  # <script>alert(1)</script>


# -- positive rendering ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("Hello world", "<p>Hello world</p>"),
        ("one\n\ntwo", "<p>one</p>\n<p>two</p>"),
        ("**b**", "<p><strong>b</strong></p>"),
        ("*i*", "<p><em>i</em></p>"),
        ("~~d~~", "<p><del>d</del></p>"),
        ("`a < b`", "<p><code>a &lt; b</code></p>"),
        ("```python\nx = 1 < 2\n```", "<pre><code>x = 1 &lt; 2\n</code></pre>"),
        ("> quoted", "<blockquote>\n<p>quoted</p>\n</blockquote>"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>"),
        ("3. a\n4. b", '<ol start="3">\n<li>a</li>\n<li>b</li>\n</ol>'),
        ("line  \nbreak", "<p>line<br>\nbreak</p>"),
        ("[site](https://example.com/a?b=1&c=2)", '<p><a href="https://example.com/a?b=1&amp;c=2" rel="nofollow noopener">site</a></p>'),
        ("[site](http://example.com)", '<p><a href="http://example.com" rel="nofollow noopener">site</a></p>'),
        ("[mail](mailto:a@example.com)", '<p><a href="mailto:a@example.com" rel="nofollow noopener">mail</a></p>'),
        ("<https://example.com>", '<p><a href="https://example.com" rel="nofollow noopener">https://example.com</a></p>'),
        ("a <b>bold</b> claim", "<p>a &lt;b&gt;bold&lt;/b&gt; claim</p>"),
        ("# Title", "Title"),  # headings are not allow-listed: their text stays, the tag goes
    ],
    ids=lambda value: value if len(value) < 30 else None,
)
def test_renders_the_allow_listed_markdown(markdown, expected):
    assert render_comment_html(markdown, []).strip() == expected


def test_fenced_code_loses_its_language_class():
    html = render_comment_html("```js\nalert(1)\n```", [])

    assert html.strip() == "<pre><code>alert(1)\n</code></pre>"
    assert "class" not in html


def test_links_to_other_schemes_or_relative_urls_stay_text():
    assert render_comment_html("[x](/docs) [y](#top) [z](ftp://h/f)", []).strip() == (
        "<p>[x](/docs) [y](#top) [z](ftp://h/f)</p>"
    )


def test_a_user_link_without_the_at_sign_is_no_mention():
    assert render_comment_html(f"[Ann](user:{UID})", [UID]).strip() == f"<p>[Ann](user:{UID})</p>"


def test_images_are_dropped_by_the_sanitizer():
    assert render_comment_html("see ![logo](https://example.com/logo.png)", []).strip() == "<p>see </p>"


# -- mentions --------------------------------------------------------------------------------------------------


def test_a_listed_mention_is_a_span():
    html = render_comment_html(f"hi @[Ann Lee](user:{UID})!", [UID])

    assert html.strip() == f'<p>hi <span class="mention" data-user-id="{UID}">@Ann Lee</span>!</p>'


def test_an_unlisted_mention_is_plain_text():
    assert render_comment_html(f"hi @[Ann](user:{UID})", [OTHER]).strip() == "<p>hi @Ann</p>"


def test_mentions_match_whatever_the_case_and_type_of_the_uuid():
    expected = f'<p><span class="mention" data-user-id="{UID}">@Ann</span></p>'

    assert render_comment_html(f"@[Ann](user:{UID.upper()})", [UID]).strip() == expected
    assert render_comment_html(f"@[Ann](user:{UID})", [UID.upper()]).strip() == expected
    assert render_comment_html(f"@[Ann](user:{UID})", [uuid.UUID(UID)]).strip() == expected


@pytest.mark.parametrize("user_id", [UID[:-1], UID + "0", UID.replace("-", ""), "{" + UID + "}", "not-a-uuid", ""])
def test_a_malformed_uuid_stays_literal_text(user_id):
    assert render_comment_html(f"@[Ann](user:{user_id})", [UID]).strip() == f"<p>@[Ann](user:{user_id})</p>"


def test_a_mention_label_is_escaped_plain_text():
    html = render_comment_html(f"@[<b>x</b> **y**](user:{UID})", [UID])

    assert html.strip() == f'<p><span class="mention" data-user-id="{UID}">@&lt;b&gt;x&lt;/b&gt; **y**</span></p>'
    assert render_comment_html(f"@[<b>x</b>](user:{UID})", []).strip() == "<p>@&lt;b&gt;x&lt;/b&gt;</p>"


def test_a_mention_inside_code_is_code():
    assert render_comment_html(f"`@[Ann](user:{UID})`", [UID]).strip() == f"<p><code>@[Ann](user:{UID})</code></p>"


def test_a_mention_inside_a_link_label():
    html = render_comment_html(f"[see @[Ann](user:{UID})](https://example.com)", [UID])

    assert html.strip() == (
        f'<p><a href="https://example.com" rel="nofollow noopener">see '
        f'<span class="mention" data-user-id="{UID}">@Ann</span></a></p>'
    )


def test_a_hand_written_mention_span_is_escaped():
    html = render_comment_html(f'<span class="mention" data-user-id="{UID}">@Ann</span>', [UID])

    assert "<span" not in html
    assert "&lt;span" in html


def test_a_malformed_listed_uuid_is_the_callers_error():
    with pytest.raises(ValueError):
        render_comment_html("text", ["not-a-uuid"])


def test_the_sanitizer_alone_drops_forged_spans_and_bad_attributes():
    html = comment_html._sanitize(
        f'<span class="mention x" data-user-id="{OTHER}" title="t">a</span>'
        f'<span class="mention" data-user-id="{UID}">b</span>'
        '<ol start="1 onclick=x"><li>c</li></ol><a href="/relative" rel="opener">d</a>',
        frozenset({UID}),
    )

    assert html == (
        f'<span>a</span><span class="mention" data-user-id="{UID}">b</span>'
        '<ol><li>c</li></ol><a rel="nofollow noopener">d</a>'
    )


# -- XSS corpus ------------------------------------------------------------------------------------------------

XSS_PAYLOADS = [
    # raw HTML: script
    "<script>alert(1)</script>",
    "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>",
    '<script src="data:text/javascript,alert(1)"></script>',
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<script>alert(1);//<</script>",
    "<script>alert(1)",
    "<script\n>alert(1)</script\n>",
    "<ScRiPt>alert(String.fromCharCode(88,83,83))</sCrIpT>",
    '"><script>alert(1)</script>',
    "'><script>alert(1)</script>",
    "</p><script>alert(1)</script><p>",
    # raw HTML: event handlers and dangerous elements
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    '<img src="x`<script>alert(1)</script>"`>',
    '<img """><script>alert(1)</script>">',
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    '<img src="x" onerror="&#97;&#108;&#101;&#114;&#116;(1)">',
    "<img src=1 href=1 onerror=\"javascript:alert(1)\"></img>",
    '<img src="javascript:alert(1)" style="x:expression(alert(1))">',
    "<svg/onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    '<svg><a xlink:href="javascript:alert(1)"><text x=20 y=20>x</text></a></svg>',
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<math href="javascript:alert(1)">click</math>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<iframe src=data:text/html;base64," + B64_SCRIPT + ">",
    '<object data="javascript:alert(1)"></object>',
    '<object data="data:text/html;base64,' + B64_SCRIPT + '"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><input type=submit></form>',
    '<form><button formaction="javascript:alert(1)">x</button></form>',
    "<input onfocus=alert(1) autofocus>",
    "<keygen autofocus onfocus=alert(1)>",
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    '<body background="javascript:alert(1)">',
    "<style>@import 'http://evil.example/x.css';</style>",
    '<style>*{background:url("javascript:alert(1)")}</style>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<div onpointerover=alert(1)>x</div>",
    "<x onclick=alert(1)>x</x>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel=stylesheet href="javascript:alert(1)">',
    '<link rel=import href="data:text/html,<script>alert(1)</script>">',
    '<table background="javascript:alert(1)">',
    '<video><source onerror="alert(1)">',
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<isindex action=javascript:alert(1) type=image>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<template><script>alert(1)</script></template>",
    "<textarea></textarea><script>alert(1)</script>",
    "<title></title><script>alert(1)</script>",
    "<xmp><script>alert(1)</script></xmp>",
    "<plaintext><script>alert(1)",
    # raw HTML: links
    '<a href="javascript:alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="&#14;javascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    '<a href="java\nscript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
    "<a href=javascript&colon;alert(1)>x</a>",
    '<a/href="javascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,' + B64_SCRIPT + '">x</a>',
    '<a href="data:text/html,%3Cscript%3Ealert(1)%3C/script%3E">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    "<a onmouseover=alert(1)>x</a>",
    '<a href="http://example.com" onclick="alert(1)">x</a>',
    '<a href="mailto:x@example.com" onclick="alert(1)">x</a>',
    # raw HTML: forged mentions
    f'<span class="mention" data-user-id="{UID}">@forged</span>',
    f'<span class="mention" data-user-id="{UID}" onclick="alert(1)">x</span>',
    # comments, CDATA, declarations
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<!-- --!><script>alert(1)</script> -->",
    '<?xml version="1.0"?><script>alert(1)</script>',
    "<!DOCTYPE html><script>alert(1)</script>",
    # entities, escapes, null bytes, unicode
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "&#x3C;img src=x onerror=alert(1)&#x3E;",
    "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e",
    "\\<script>alert(1)</script>",
    "<scr\x00ipt>alert(1)</scr\x00ipt>",
    "\x00<script>alert(1)</script>",
    "<img src=x onerror\x00=alert(1)>",
    "\uff1cscript\uff1ealert(1)\uff1c/script\uff1e",
    "\u202e<script>alert(1)</script>",
    # markdown links
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](javascript\\:alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x](data:text/html;base64," + B64_SCRIPT + ")",
    "[x](vbscript:msgbox(1))",
    "[x](<javascript:alert(1)>)",
    "[x]( javascript:alert(1) )",
    "[x](\njavascript:alert(1))",
    "[x](javascript://%0aalert(1))",
    "[x](file:///etc/passwd)",
    "[x](//evil.example/x)",
    '[x](http://example.com "title" onclick="alert(1)")',
    '[x](http://example.com "\\" onmouseover=\\"alert(1)")',
    '[x](http://example.com/"onmouseover="alert(1))',
    '[click](mailto:x@example.com"onclick="alert(1))',
    "[x][r]\n\n[r]: javascript:alert(1)",
    '[r]\n\n[r]: JAVASCRIPT:alert(1) "t"',
    "[r]\n\n[r]: <data:text/html," + B64_SCRIPT + ">",
    # markdown images
    "![x](javascript:alert(1))",
    '![x](x" onerror="alert(1))',
    '![x](http://example.com/x.png" onerror="alert(1))',
    '![x" onerror="alert(1)](http://example.com/x.png)',
    "[![x](http://example.com/x.png)](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    # autolinks
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    '<http://example.com/"onmouseover="alert(1)">',
    "<mailto:x@example.com?body=<script>alert(1)</script>>",
    # markdown blocks around raw HTML
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    '```" onmouseover="alert(1)\nx\n```',
    "~~~<script>\nx\n~~~",
    "    <script>alert(1)</script>",
    "> <script>alert(1)</script>",
    "- <img src=x onerror=alert(1)>",
    "1. <iframe src=javascript:alert(1)>",
    "**<script>alert(1)</script>**",
    "*<img src=x onerror=alert(1)>*",
    "~~<svg onload=alert(1)>~~",
    "# <script>alert(1)</script>",
    # mentions carrying markup
    f'@[x" onmouseover="alert(1)](user:{UID})',
    f'@[x](user:{UID}" onclick="alert(1))',
    f"@[<script>alert(1)</script>](user:{UID})",
    f"@[<img src=x onerror=alert(1)>](user:{UID})",
    "@[x](user:javascript:alert(1))",
    f"@[x](user:{UID})</span><script>alert(1)</script>",
    f"[@[x](user:{UID})](javascript:alert(1))",
    f"@[x](user:{UID}><script>alert(1)</script>)",
    f"@[&quot;&gt;<script>alert(1)</script>](user:{UID})",
    f"@[x](USER:{UID})",
    f"[x](user:{UID})",
]
assert len(set(XSS_PAYLOADS)) == len(XSS_PAYLOADS) >= 100, "at least 100 distinct payloads"


def _ids(payloads: list[str]) -> list[str]:
    """Short printable test ids: the index and the payload's first characters."""
    return [f"{i:03d}-{payload[:24]!r}" for i, payload in enumerate(payloads)]


class _Elements(HTMLParser):
    """The start tags and the non-element markup (comments, declarations) an HTML parser sees."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.markup: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_comment(self, data):
        self.markup.append(f"comment {data!r}")

    def handle_decl(self, decl):
        self.markup.append(f"declaration {decl!r}")

    def handle_pi(self, data):
        self.markup.append(f"processing instruction {data!r}")

    def unknown_decl(self, data):
        self.markup.append(f"declaration {data!r}")


def _without_noise(url: str) -> str:
    """The URL as a browser judges its scheme: no whitespace or control characters, lower-case."""
    return "".join(ch for ch in url if not ch.isspace() and unicodedata.category(ch)[0] != "C").lower()


def _check_tag(tag: str, attrs: dict[str, str | None], listed: set[str]) -> None:
    """One start tag of the output obeys the allow-list."""
    assert tag in comment_html.ALLOWED_TAGS, tag
    for name in attrs:
        assert not name.startswith("on"), (tag, name)
        assert name not in FORBIDDEN_ATTRIBUTES, (tag, name)
    if tag == "a":
        assert set(attrs) <= {"href", "rel"}, attrs
        assert attrs.get("rel") == "nofollow noopener", attrs
        if "href" in attrs:
            assert _without_noise(attrs["href"] or "").startswith(SAFE_SCHEMES), attrs
    elif tag == "span":
        assert set(attrs) == {"class", "data-user-id"}, attrs
        assert attrs["class"] == "mention", attrs
        assert attrs["data-user-id"] in listed, attrs
        assert attrs["data-user-id"] == str(uuid.UUID(attrs["data-user-id"])), attrs
    elif tag == "ol":
        assert set(attrs) <= {"start"}, attrs
        assert (attrs.get("start") or "1").isdigit(), attrs
    else:
        assert attrs == {}, (tag, attrs)


def _check_safe(html: str, listed: set[str]) -> None:
    """The whole output obeys the allow-list as an HTML parser reads it."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    assert parser.markup == []
    assert "script" not in {tag for tag, _ in parser.tags}  # no live script element, whatever the text says
    for tag, attrs in parser.tags:
        _check_tag(tag, attrs, listed)


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=_ids(XSS_PAYLOADS))
def test_the_xss_corpus_renders_safe(payload):
    _check_safe(render_comment_html(payload, [UID]), {UID})


_UNSAFE_MARKDOWN = MarkdownIt("commonmark", {"html": True})  # passes raw HTML through: the sanitizer alone


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=_ids(XSS_PAYLOADS))
def test_the_sanitizer_alone_holds_against_the_xss_corpus(payload):
    _check_safe(comment_html._sanitize(_UNSAFE_MARKDOWN.render(payload), frozenset({UID})), {UID})
