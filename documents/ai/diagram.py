"""Mermaid from a description (SPEC §6): the instruction, the answer's fences stripped, a light validation."""

from __future__ import annotations

import re

HEADERS = {
    "flowchart": ("flowchart", "graph"),
    "sequence": ("sequenceDiagram",),
    "class": ("classDiagram",),
    "state": ("stateDiagram-v2", "stateDiagram"),
    "er": ("erDiagram",),
    "gantt": ("gantt",),
    "pie": ("pie",),
    "mindmap": ("mindmap",),
    "journey": ("journey",),
    "timeline": ("timeline",),
    "gitgraph": ("gitGraph",),
}
DIAGRAM_TYPES = tuple(HEADERS)
_FENCED = re.compile(r"```[ \t]*(?:mermaid)?[ \t]*\r?\n(.*?)(?:\r?\n)?```", re.DOTALL | re.IGNORECASE)
# An entity relationship's cardinality (`||--o{`, `}|..|{`) holds braces that open nothing.
_ER_RELATION = re.compile(r"[|}][o|](?:--|\.\.)[o|][|{]")
_PAIRS = {")": "(", "]": "[", "}": "{"}


def instructions(diagram_type: str) -> str:
    header = HEADERS[diagram_type][0]
    return (
        f"You turn descriptions into Mermaid diagrams. Answer with the Mermaid code of one {diagram_type} diagram "
        f"and nothing else: no explanation, no Markdown code fences. The first line is `{header}`."
    )


def strip_fences(answer: str) -> str:
    """The Mermaid code of an answer: the first fenced block's body if there is one, else the answer, trimmed."""
    fenced = _FENCED.search(answer)
    return (fenced.group(1) if fenced else answer).strip()


def is_valid(code: str, diagram_type: str) -> bool:
    """The first line (after `%%` comments) is the type's header, and brackets and double quotes balance."""
    lines = [line.strip() for line in code.splitlines() if line.strip() and not line.strip().startswith("%%")]
    if not lines:
        return False
    first = lines[0].split()[0] if lines[0].split() else ""
    if first not in HEADERS[diagram_type]:
        return False
    return _balanced(_ER_RELATION.sub("", code) if diagram_type == "er" else code)


def _balanced(code: str) -> bool:
    stack: list[str] = []
    quoted = False
    for char in code:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([{":
            stack.append(char)
        elif char in _PAIRS:
            if not stack or stack.pop() != _PAIRS[char]:
                return False
    return not stack and not quoted
