"""The configured markdown-it parser: CommonMark + GFM tables, task boxes, autolinks and the editor's marks."""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.rules_inline.state_inline import Delimiter
from mdit_py_plugins.gfm_autolink import gfm_autolink_plugin
from mdit_py_plugins.subscript import sub_plugin
from mdit_py_plugins.superscript import superscript_plugin

_EQUALS = ord("=")


def _highlight_tokenize(state: StateInline, silent: bool) -> bool:
    """Push every `==` of a run as a delimiter text token (same pairing rules as `~~`)."""
    start = state.pos
    if silent or state.src[start] != "=":
        return False
    scanned = state.scanDelims(start, True)
    length = scanned.length
    if length < 2:
        return False
    if length % 2:
        state.push("text", "", 0).content = "="
        length -= 1
    for _ in range(length // 2):
        state.push("text", "", 0).content = "=="
        state.delimiters.append(
            Delimiter(
                marker=_EQUALS,
                length=0,
                token=len(state.tokens) - 1,
                end=-1,
                open=scanned.can_open,
                close=scanned.can_close,
            )
        )
    state.pos += scanned.length
    return True


def _highlight_pairs(state: StateInline, delimiters: list[Delimiter]) -> None:
    """Turn matched `==` delimiter pairs into mark_open / mark_close tokens."""
    for opener in delimiters:
        if opener.marker != _EQUALS or opener.end == -1:
            continue
        for index, (kind, nesting) in (
            (opener.token, ("mark_open", 1)),
            (delimiters[opener.end].token, ("mark_close", -1)),
        ):
            token = state.tokens[index]
            token.type, token.tag, token.nesting, token.markup, token.content = kind, "mark", nesting, "==", ""


def _highlight_post_process(state: StateInline) -> None:
    """Resolve `==` pairs at the top level and inside every link label."""
    _highlight_pairs(state, state.delimiters)
    for meta in state.tokens_meta:
        if meta and "delimiters" in meta:
            _highlight_pairs(state, meta["delimiters"])


def highlight_plugin(md: MarkdownIt) -> None:
    """Read `==text==` as a highlight (like markdown-it-mark)."""
    md.inline.ruler.before("emphasis", "highlight", _highlight_tokenize)
    md.inline.ruler2.before("emphasis", "highlight", _highlight_post_process)


@cache
def markdown_parser() -> MarkdownIt:
    """The shared parser; no typographer, no emoji, raw HTML kept as tokens."""
    md = MarkdownIt("commonmark", {"typographer": False})
    md.enable(["table", "strikethrough"])
    md.options["tasklists"] = True
    md.use(gfm_autolink_plugin).use(sub_plugin).use(superscript_plugin).use(highlight_plugin)
    return md
