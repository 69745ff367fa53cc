"""Seed demo data for the embedded default and print how to sign in."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from accounts.models import User
from accounts.services.users import user_create
from documents.models import Document
from documents.services.documents import document_create, document_update
from documents.services.versions import version_create_manual
from sync.origin import COMMAND
from workspaces.models import Workspace, WorkspaceMember
from workspaces.roles import Role
from workspaces.services.workspaces import workspace_create

DEMO_PASSWORD = "Demo-Password-1"  # noqa: S105  the demo accounts' published password, printed below
DEMO_TEAM = "Demo Team"
# The team gets one member of each role below the owner.
TEAM_ROLES = (Role.ADMIN, Role.EDITOR, Role.COMMENTER, Role.VIEWER)


WELCOME = """# Welcome to MD Creator

This document lives in the **Demo Team** workspace. Try editing it together with another demo account.

- Markdown with *formatting*
- Mindmaps and presentations
- Version history, comments and search
"""
MINDMAP = {
    "nodes": [{"id": "root", "label": "MD Creator"}, {"id": "docs", "label": "Documents"}, {"id": "team", "label": "Teams"}],
    "edges": [{"from": "root", "to": "docs"}, {"from": "root", "to": "team"}],
}
SLIDES = {"slides": [{"title": "Hello", "content": "A first slide"}, {"title": "Roadmap", "content": "- Write\n- Share"}]}


def _demo_documents(team, owner: User) -> None:
    """One document of each type; the markdown one has a few versions."""
    if Document.objects.filter(workspace=team).exists():
        return
    welcome = document_create(
        actor=owner, workspace=team, data={"title": "Welcome", "content": WELCOME, "tags": ["demo"]}, origin=COMMAND
    )
    version_create_manual(document=welcome, actor=owner, tags=["demo"], description="First draft")
    document_update(
        actor=owner, document=welcome, data={"content": WELCOME + "\nEdited once more.\n"}, if_match="*", origin=COMMAND
    )
    for title, kind, content in (("Product map", "mindmap", MINDMAP), ("Kick-off deck", "presentation", SLIDES)):
        data = {"title": title, "type": kind, "content": json.dumps(content)}
        document_create(actor=owner, workspace=team, data=data, origin=COMMAND)


def _demo_user(email: str, name: str) -> User:
    user = User.objects.filter(email=email).first()
    return user or user_create(email=email, password=DEMO_PASSWORD, display_name=name, email_verified=True)


class Command(BaseCommand):
    help = "Create demo accounts, a team workspace with a member of each role and a document of each type (idempotent); print the credentials."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=5, help="How many demo accounts (at least 5: one per role).")

    def handle(self, *args, users: int, **options):
        owner = _demo_user("demo@mdcreator.local", "Demo User")
        people = [owner] + [
            _demo_user(f"demo{index}@mdcreator.local", f"Demo User {index}") for index in range(2, max(5, users) + 1)
        ]
        team = Workspace.objects.filter(owner=owner, name=DEMO_TEAM, deleted_at__isnull=True).first()
        team = team or workspace_create(owner=owner, name=DEMO_TEAM, description="A team to try roles with.")
        for person, role in zip(people[1:], TEAM_ROLES, strict=False):
            WorkspaceMember.objects.get_or_create(workspace=team, user=person, defaults={"role": role, "invited_by": owner})
        _demo_documents(team, owner)
        roles = dict(WorkspaceMember.objects.filter(workspace=team, is_active=True).values_list("user_id", "role"))
        for person in people:
            role = roles.get(person.pk, "not a member")
            self.stdout.write(f"Demo account: {person.email} / {DEMO_PASSWORD}  ({DEMO_TEAM}: {role})")
