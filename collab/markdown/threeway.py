"""Three-way block merge: a REST write against the text it was based on, while live edits went on.

The REST writer saw `base` and sent `new`; meanwhile the live document
moved from `base` to `live`. Blocks the writer did not touch keep their
live version (live edits survive), blocks the writer changed take the
writer's version, and blocks inserted or deleted live stay inserted or
deleted when the writer left their surroundings alone.
"""

from __future__ import annotations

from difflib import SequenceMatcher

from pycrdt import Doc

from collab.markdown.merge import apply_edits, block_keys, plan_edits
from collab.markdown.parse import parse_markdown
from collab.markdown.yxml import content_fragment, read_blocks


def _live_changes(base_keys: list[str], live_keys: list[str]) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
    """What the live side did to the base blocks.

    Returns (replaced, inserted): `replaced[i]` lists the live blocks that stand for base block `i`
    ([] when it was deleted live); `inserted[i]` lists live blocks added after base block `i`
    (`-1` for the very start).
    """
    replaced: dict[int, list[int]] = {}
    inserted: dict[int, list[int]] = {}
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, base_keys, live_keys, autojunk=False).get_opcodes():
        if tag == "insert":
            inserted[i1 - 1] = list(range(j1, j2))
        elif tag == "delete":
            replaced.update({index: [] for index in range(i1, i2)})
        elif tag == "replace" and i2 - i1 == j2 - j1:
            replaced.update({i1 + offset: [j1 + offset] for offset in range(i2 - i1)})
        elif tag == "replace":
            replaced[i1] = list(range(j1, j2))
            replaced.update({index: [] for index in range(i1 + 1, i2)})
    return replaced, inserted


def resolve_blocks(base: list[dict], new: list[dict], live: list[dict], *, key=None) -> list[dict]:
    """The blocks the document should hold: the writer's changes applied on top of the live edits."""
    key = key or block_keys()
    base_keys, new_keys = [key(block) for block in base], [key(block) for block in new]
    replaced, inserted = _live_changes(base_keys, [key(block) for block in live])
    target = [live[j] for j in inserted.get(-1, [])]
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, base_keys, new_keys, autojunk=False).get_opcodes():
        if tag != "equal":
            # The writer changed this stretch: its version wins there.
            target.extend(new[j1:j2])
            continue
        for offset, index in enumerate(range(i1, i2)):
            # The writer left this block alone: keep whatever the live side made of it.
            live_version = replaced.get(index)
            target.extend([new[j1 + offset]] if live_version is None else [live[j] for j in live_version])
            target.extend(live[j] for j in inserted.get(index, []))
    return target or [{"type": "paragraph"}]


def merge_three_way(doc: Doc, base_text: str, new_text: str, *, origin: str = "server") -> bytes | None:
    """Apply a REST write made against `base_text` to the live document; the update, or None."""
    live = read_blocks(content_fragment(doc))
    key = block_keys()  # target blocks are live and new blocks: each is serialized once
    target = resolve_blocks(parse_markdown(base_text), parse_markdown(new_text), live, key=key)
    return apply_edits(doc, plan_edits(live, target, key=key), origin=origin)
