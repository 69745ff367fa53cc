"""Mermaid answers (SPEC §6): fences stripped, the header of the requested type, brackets and quotes balanced."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from documents.ai.diagram import DIAGRAM_TYPES, is_valid, strip_fences

GOOD = {
    "flowchart": 'flowchart LR\n  A["Start (here)"] --> B{Ready?}\n  B -->|yes| C([Go])',
    "sequence": "sequenceDiagram\n  Alice->>Bob: Hello (again)\n  Bob-->>Alice: Hi",
    "class": "classDiagram\n  class Animal {\n    +String name\n    +eat()\n  }",
    "state": "stateDiagram-v2\n  [*] --> Still\n  Still --> [*]",
    "er": "erDiagram\n  CUSTOMER ||--o{ ORDER : places\n  ORDER ||--|{ LINE-ITEM : contains",
    "gantt": "gantt\n  title Plan\n  section A\n  Task :a1, 2024-01-01, 30d",
    "pie": 'pie title Pets\n  "Dogs" : 386\n  "Cats" : 85',
    "mindmap": "mindmap\n  root((Ideas))\n    One\n    Two",
    "journey": "journey\n  title My day\n  section Go to work\n    Make tea: 5: Me",
    "timeline": "timeline\n  title History\n  2002 : LinkedIn",
    "gitgraph": "gitGraph\n  commit\n  branch develop\n  commit",
}


def test_ai_diagram_every_type_has_a_valid_example():
    assert set(GOOD) == set(DIAGRAM_TYPES)
    for kind, code in GOOD.items():
        assert is_valid(code, kind), kind


@pytest.mark.parametrize("kind", DIAGRAM_TYPES)
def test_ai_diagram_another_types_header_is_not_valid(kind):
    other = next(name for name in DIAGRAM_TYPES if name != kind and not GOOD[name].startswith(GOOD[kind].split()[0]))
    assert not is_valid(GOOD[other], kind)


@pytest.mark.parametrize("code", [
    "flowchart TD\n  A[Start --> B",
    "flowchart TD\n  A(Start] --> B",
    'flowchart TD\n  A["Start] --> B',
    "flowchart TD\n  A --> B}",
    "",
    "%% only a comment",
])
def test_ai_diagram_unbalanced_or_empty_is_not_valid(code):
    assert not is_valid(code, "flowchart")


def test_ai_diagram_comments_before_the_header_and_brackets_in_quotes_are_fine():
    assert is_valid('%% made for you\nflowchart TD\n  A["a ) b ] c"] --> B', "flowchart")
    assert is_valid("graph TD\n  A --> B", "flowchart")


def test_ai_diagram_fences_are_stripped():
    assert strip_fences("```mermaid\npie title X\n  \"a\" : 1\n```") == 'pie title X\n  "a" : 1'
    assert strip_fences("Sure!\n\n```\ngitGraph\n  commit\n```\nEnjoy.") == "gitGraph\n  commit"
    assert strip_fences("  mindmap\n  root  \n") == "mindmap\n  root"


@given(st.text(max_size=300), st.sampled_from(DIAGRAM_TYPES))
def test_ai_diagram_any_text_is_judged_without_error(text, kind):
    assert is_valid(strip_fences(text), kind) in (True, False)
