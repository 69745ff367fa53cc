"""What counts as one emoji for a reaction (SPEC §3.5: 1–16 characters of a single emoji grapheme)."""

from __future__ import annotations

import unicodedata

MAX_CHARS = 16
ZWJ, VS16, KEYCAP = "\u200d", "\ufe0f", "\u20e3"
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_TAGS = range(0xE0020, 0xE0080)
_REGIONAL = range(0x1F1E6, 0x1F200)


def _is_pictograph(char: str) -> bool:
    """A symbol that can stand alone as an emoji (category So, or one of the few Sm/Po emoji)."""
    return unicodedata.category(char) == "So" or char in "\u203c\u2049\u2122\u2139\u3030\u303d\u00a9\u00ae"


def _is_modifier(char: str) -> bool:
    point = ord(char)
    return char in (VS16, "\ufe0e") or point in _SKIN_TONES or point in _TAGS


def is_single_emoji(text: str) -> bool:
    """One emoji grapheme: a pictograph with its modifiers, ZWJ sequences, a flag pair or a keycap."""
    if not isinstance(text, str) or not 1 <= len(text) <= MAX_CHARS:
        return False
    points = [ord(char) for char in text]
    if all(point in _REGIONAL for point in points):
        return len(points) == 2  # a flag is exactly two regional indicators
    if text[-1] == KEYCAP:  # 1️⃣ #️⃣ *️⃣
        return text[0] in "0123456789#*" and set(text[1:-1]) <= {VS16}
    expect_base = True
    for char in text:
        if expect_base:
            if not _is_pictograph(char):
                return False
            expect_base = False
        elif char == ZWJ:
            expect_base = True
        elif not _is_modifier(char):
            return False
    return not expect_base
