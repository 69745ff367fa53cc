"""REST -> live: merge new markdown into the `content` fragment block by block (SPEC §5.4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher

from pycrdt import Doc

from collab.markdown.parse import parse_markdown
from collab.markdown.schema import NODE_ATTRS, node
from collab.markdown.serialize import serialize_markdown
from collab.markdown.yxml import content_fragment, has_foreign_items, read_blocks, remove_foreign_items, write_blocks


@dataclass(frozen=True)
class Edit:
    """Replace the fragment's children `start:stop` by `blocks`."""

    start: int
    stop: int
    blocks: list[dict]


def merge_markdown(doc: Doc, new_text: str, *, origin: str = "server") -> bytes | None:
    """Replace only the changed top-level blocks, in one transaction; the incremental update, or None if equivalent."""
    edits = plan_edits(read_blocks(content_fragment(doc)), parse_markdown(new_text))
    return apply_edits(doc, edits, origin=origin)


def apply_edits(doc: Doc, edits: list[Edit], *, origin: str) -> bytes | None:
    """Apply block edits to the root fragment in one transaction; the incremental update, or None if none.

    Items of the root that are not XML nodes go first: the edits' indexes count the XML nodes only, and
    after a REST write the live document holds exactly the written blocks.
    """
    fragment = content_fragment(doc)
    foreign = has_foreign_items(fragment)
    if not edits and not foreign:
        return None
    state_before = doc.get_state()
    with doc.transaction(origin=origin):
        if foreign:
            remove_foreign_items(doc)
        # Back to front, so the indexes of earlier edits stay valid.
        for edit in reversed(edits):
            del fragment.children[edit.start : edit.stop]
            write_blocks(fragment, edit.start, edit.blocks)
    return doc.get_update(state_before)


def _block_key(block: dict) -> str:
    """A block's markdown: what the diff compares."""
    return serialize_markdown([block])


def block_keys() -> Callable[[dict], str]:
    """A `_block_key` that serializes each block object once (blocks are dicts: remembered by identity)."""
    memo: dict[int, tuple[dict, str]] = {}

    def key(block: dict) -> str:
        kept = memo.get(id(block))
        if kept is None or kept[0] is not block:
            kept = memo[id(block)] = (block, _block_key(block))
        return kept[1]

    return key


def _old_units(keys: list[str], new_keys: set[str]) -> tuple[list[str], list[int]]:
    """Keys of the current blocks; one that matches no new key is normalized through a read-back first."""
    units: list[str] = []
    owners: list[int] = []
    for index, key in enumerate(keys):
        # A block written differently than the parser would write it (or that reads as several blocks,
        # like an unknown container) is compared by what its markdown reads back as.
        parts = [key] if not key or key in new_keys else [_block_key(part) for part in parse_markdown(key)]
        units.extend(part for part in parts if part)
        owners.extend(index for part in parts if part)
    return units, owners


def _anchors(old_keys: list[str], new_keys: list[str]) -> list[tuple[int, int, int]]:
    """Unchanged current blocks as (old index, first new index, new index after the last), in order."""
    new_units = [key for key in new_keys if key]
    new_owners = [index for index, key in enumerate(new_keys) if key]
    old_units, old_owners = _old_units(old_keys, set(new_units))
    matched: dict[int, int] = {}
    for tag, i1, i2, j1, _j2 in SequenceMatcher(None, old_units, new_units, autojunk=False).get_opcodes():
        if tag == "equal":
            matched.update({i1 + offset: j1 + offset for offset in range(i2 - i1)})
    owned: dict[int, list[int]] = {}
    for unit, owner in enumerate(old_owners):
        owned.setdefault(owner, []).append(unit)
    anchors = []
    for owner, units in sorted(owned.items()):
        targets = [matched.get(unit) for unit in units]
        # Kept only if all its keys match consecutive new keys.
        if None not in targets and targets == list(range(targets[0], targets[0] + len(targets))):
            anchors.append((owner, new_owners[targets[0]], new_owners[targets[-1]] + 1))
    return anchors


def _gap_edits(start: int, old_keys: list[str], old_blocks: list[dict], new_blocks: list[dict]) -> list[Edit]:
    """Replace a changed stretch; unknown nodes without text (embeds markdown cannot name) stay where they are."""
    kept = [
        offset
        for offset, (key, block) in enumerate(zip(old_keys, old_blocks, strict=True))
        if not key and block.get("type") not in NODE_ATTRS
    ]
    bounds = [-1, *kept, len(old_blocks)]
    runs = [(bounds[index] + 1, bounds[index + 1]) for index in range(len(kept) + 1)]
    segments = _split_at_kept(new_blocks, [old_blocks[offset] for offset in kept])
    if segments is None:
        # Markdown cannot name the kept nodes: the new blocks take the place of the first removed ones.
        target = next((index for index, (first, stop) in enumerate(runs) if stop > first), len(runs) - 1)
        segments = [new_blocks if index == target else [] for index in range(len(runs))]
    return [
        Edit(start + first, start + stop, blocks)
        for (first, stop), blocks in zip(runs, segments, strict=True)
        if stop > first or blocks
    ]


def _split_at_kept(new_blocks: list[dict], kept: list[dict]) -> list[list[dict]] | None:
    """The new blocks between the kept nodes, when the target names them (a caller passing live blocks through)."""
    segments: list[list[dict]] = [[] for _ in range(len(kept) + 1)]
    named = 0
    for block in new_blocks:
        if named < len(kept) and block == kept[named]:
            named += 1
            continue
        segments[named].append(block)
    return segments if named else None


def plan_edits(old_blocks: list[dict], new_blocks: list[dict], *, key=None) -> list[Edit]:
    """The edits that turn `old_blocks` into `new_blocks`, leaving every unchanged block in place.

    `key` gives a block's markdown (see block_keys); a caller that already serialized the blocks
    passes its memo so nothing is serialized twice.
    """
    key = key or _block_key
    old_keys = [key(block) for block in old_blocks]
    new_keys = [key(block) for block in new_blocks]
    edits: list[Edit] = []
    old_next = new_next = 0
    end = (len(old_blocks), len(new_blocks), len(new_blocks))
    for old_index, new_first, new_stop in [*_anchors(old_keys, new_keys), end]:
        # A stretch of empty paragraphs on both sides is spacing, not a change.
        if any(old_keys[old_next:old_index]) or any(new_keys[new_next:new_first]):
            gap = slice(old_next, old_index)
            edits.extend(_gap_edits(old_next, old_keys[gap], old_blocks[gap], new_blocks[new_next:new_first]))
        old_next, new_next = old_index + 1, new_stop
    remaining = len(old_blocks) + sum(len(edit.blocks) - (edit.stop - edit.start) for edit in edits)
    if remaining == 0:
        # The document keeps at least one block (an empty paragraph).
        last = edits.pop() if edits else Edit(0, 0, [])
        edits.append(Edit(last.start, last.stop, last.blocks or [node("paragraph")]))
    return edits
