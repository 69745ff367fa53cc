"""Fixtures of the documents tests: the workspaces tests' team (one person per role) and a document in it."""

from __future__ import annotations

import pytest

from accounts.tests.factories import UserFactory
from documents.services.links import link_create, link_resolve
from documents.services.shares import share_create
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import client_for
from workspaces.tests.conftest import Team, team  # noqa: F401  (the same per-role team as the workspaces tests)
from workspaces.tests.helpers import allow_guests


@pytest.fixture
def document(team):  # noqa: F811  (the imported fixture)
    """A markdown document of the team workspace, written by its owner."""
    return DocumentFactory(workspace=team.workspace, title="Design notes", content="# Plan\n\nFirst line.\n")


@pytest.fixture
def outsider(document):
    """`make(kind)`: (person, client, headers) of an outsider: `grant-<role>`, or `link-<mode>` (a signed-in
    person holding a share link's session token); guest access is on."""
    allow_guests(document.workspace)
    owner = document.workspace.owner

    def make(kind: str):
        person = UserFactory()
        if kind.startswith("grant-"):
            share_create(actor=owner, document=document, role=kind.removeprefix("grant-"),
                         user_id=person.pk)
            return person, client_for(person), {}
        _, token = link_create(actor=owner, document=document, mode=kind.removeprefix("link-"))
        _, session = link_resolve(token=token, password=None, client_key="test")
        return person, client_for(person), {"HTTP_X_SHARE_TOKEN": session}

    return make
