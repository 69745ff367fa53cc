"""Comment markdown to safe HTML: the API's ``content_html``, which a browser inserts into the page as is.

The contract: CommonMark (plus ``~~strikethrough~~`` as ``<del>``) rendered with raw HTML disabled, so HTML in
the source is escaped text, then sanitized with an nh3 (ammonia) allow-list of tags and attributes. The two layers
are independent on purpose; either alone keeps the output safe, so a bug in one is caught by the other:

- markdown-it makes links only to http, https and mailto URLs; any other link (``javascript:``, ``data:``,
  ``user:``, relative URLs, ...) stays literal markdown text instead of becoming an ``<a>``.
- nh3 re-parses the HTML and keeps p, br, strong, em, del, code, pre, blockquote, ul, ol, li, a and span. ``a``
  keeps an http/https/mailto ``href`` and always gets ``rel="nofollow noopener"``; ``ol`` keeps a numeric
  ``start`` (markdown's ``3. item``: a harmless integer); ``span`` keeps only ``class="mention"`` and a
  ``data-user-id`` that is one of the listed mentions, so even a forged span could only mention a listed user.
  Every other tag is dropped (script and style with their content), every other attribute removed.

A mention is written ``@[Label](user:<uuid>)``, the uuid in its canonical hyphenated form (any case). It renders as
``<span class="mention" data-user-id="<uuid>">@Label</span>`` when the uuid is listed in ``mentions``, otherwise as
the plain text ``@Label``. The label is plain text (escaped, never parsed as markdown) and may not hold ``]`` or a
line break. A token with a malformed uuid is no mention: it stays literal text, like any ``user:`` link. The
``mentions`` argument is the caller's data, not the author's: a malformed uuid in it raises ``ValueError``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline

ALLOWED_TAGS = frozenset({"p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "span"})
LINK_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener"

_HEX = "[0-9a-fA-F]"
_MENTION = re.compile(rf"@\[([^\]\n]+)\]\(user:({_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}})\)")
# Browsers drop whitespace and control characters around and inside a URL's scheme ("java\tscript:"), so the
# scheme is judged without them.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")


def _allowed_url(url: str) -> bool:
    """Whether a link target has an allowed scheme; relative URLs are refused too (they have no scheme)."""
    scheme, colon, _ = _URL_NOISE.sub("", url).partition(":")
    return bool(colon) and scheme.lower() in LINK_SCHEMES


def _mention_rule(state: StateInline, silent: bool) -> bool:
    """Inline rule: ``@[Label](user:<uuid>)`` is one mention token, matched before the link rule sees its brackets."""
    if state.src[state.pos] != "@":
        return False
    match = _MENTION.match(state.src, state.pos, state.posMax)
    if match is None:
        return False
    if not silent:  # silent: a link label around the mention is being measured; only skip over it
        token = state.push("mention", "", 0)
        token.content = match[1]
        token.meta = {"user_id": match[2].lower()}
    state.pos = match.end()
    return True


def _render_mention(self, tokens, idx, options, env) -> str:
    """Render rule: a listed mention is a span, an unlisted one the plain text ``@Label``."""
    token = tokens[idx]
    label = escapeHtml("@" + token.content)
    if token.meta["user_id"] in env.get("mentions", ()):
        return f'<span class="mention" data-user-id="{token.meta["user_id"]}">{label}</span>'
    return label


def _strike_to_del(state: StateCore) -> None:
    """Core rule: strikethrough is ``<del>`` (the allow-listed tag), not markdown-it's ``<s>``."""
    for block in state.tokens:
        for token in block.children or ():
            if token.type in ("s_open", "s_close"):
                token.tag = "del"


def _build_markdown() -> MarkdownIt:
    """The shared parser: CommonMark, raw HTML off, strikethrough and mentions on, safe link schemes only."""
    md = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")
    md.disable(["html_block", "html_inline"])  # redundant with html=False: raw HTML can never pass through
    md.inline.ruler.before("link", "mention", _mention_rule)
    md.core.ruler.push("strikethrough_del", _strike_to_del)
    md.add_render_rule("mention", _render_mention)
    md.validateLink = _allowed_url  # links, images, autolinks and references alike
    return md


_MARKDOWN = _build_markdown()


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3 attribute filter: the href scheme check once more (as browsers read it) and numeric list starts only."""
    if attribute == "href" and not _allowed_url(value):
        return None
    if attribute == "start" and not (value.isascii() and value.isdigit()):
        return None
    return value


def _sanitize(html: str, mentions: frozenset[str]) -> str:
    """Keep only the allow-listed tags and attributes of rendered HTML (see the module docstring)."""
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        # "*": nh3 otherwise keeps ammonia's generic attributes (title, lang) on every tag.
        attributes={"*": set(), "a": {"href"}, "ol": {"start"}},
        tag_attribute_values={"span": {"class": {"mention"}, "data-user-id": set(mentions)}},
        attribute_filter=_filter_attribute,
        url_schemes=set(LINK_SCHEMES),
        url_relative="deny",
        link_rel=LINK_REL,
        strip_comments=True,
    )


def render_comment_html(markdown: str, mentions: Iterable[str | uuid.UUID]) -> str:
    """Render a comment's markdown to sanitized HTML; only the uuids in ``mentions`` render as mention spans."""
    listed = frozenset(str(uuid.UUID(str(user_id))) for user_id in mentions)  # canonical lower-case form
    return _sanitize(_MARKDOWN.render(markdown, {"mentions": listed}), listed)
