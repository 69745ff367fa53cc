"""Fixtures of the documents tests: the workspaces tests' team (one person per role) and a document in it."""

from __future__ import annotations

import pytest

from documents.tests.factories import DocumentFactory
from workspaces.tests.conftest import Team, team  # noqa: F401  (the same per-role team as the workspaces tests)


@pytest.fixture
def document(team):  # noqa: F811  (the imported fixture)
    """A markdown document of the team workspace, written by its owner."""
    return DocumentFactory(workspace=team.workspace, title="Design notes", content="# Plan\n\nFirst line.\n")
