"""A team workspace with one person per role: the `team` fixture of every app's tests (root conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from workspaces.models import Workspace, WorkspaceMember
from workspaces.tests.factories import MemberFactory, WorkspaceFactory
from workspaces.tests.helpers import client_for


@dataclass
class Team:
    """A team workspace whose members hold every role, plus a non-member; clients are made on demand."""

    workspace: Workspace
    users: dict
    _clients: dict[str, APIClient] = field(default_factory=dict)

    def user(self, actor: str):
        """The user behind an actor name (None for "anonymous")."""
        return self.users.get(actor)

    def client(self, actor: str) -> APIClient:
        """An API client acting as `actor`, signed in through a real session."""
        if actor not in self._clients:
            self._clients[actor] = client_for(self.user(actor))
        return self._clients[actor]

    def member(self, actor: str) -> WorkspaceMember:
        return WorkspaceMember.objects.get(workspace=self.workspace, user=self.user(actor))


def team_of_every_role() -> Team:
    """Owner, admin, editor, commenter and viewer of one team workspace, a non-member and an anonymous caller."""
    owner = UserFactory(display_name="Olivia Owner", email="owner@example.com")
    workspace = WorkspaceFactory(owner=owner, name="Team Space")
    users = {"owner": owner}
    for role in ("admin", "editor", "commenter", "viewer"):
        users[role] = UserFactory(display_name=f"{role.title()} Person", email=f"{role}@example.com")
        MemberFactory(workspace=workspace, user=users[role], role=role, invited_by=owner)
    users["non_member"] = UserFactory(display_name="Nina Outsider", email="outsider@example.com")
    return Team(workspace=workspace, users=users)
