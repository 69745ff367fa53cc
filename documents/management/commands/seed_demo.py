"""Seed demo data for the embedded default and print how to sign in."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand
from django.utils.crypto import salted_hmac

from accounts.models import User
from accounts.services.users import user_create
from documents.models import Comment, Document, DocumentShare, ShareLink
from documents.services.comments import comment_create, comment_react, comment_set_resolved
from documents.services.documents import document_create, document_update
from documents.services.links import link_create
from documents.services.shares import share_create
from documents.services.versions import version_create_manual
from documents.sharing import share_link_url
from sync.origin import COMMAND
from workspaces.models import Workspace, WorkspaceMember
from workspaces.roles import Role
from workspaces.services.workspaces import workspace_create, workspace_update

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


def _mention(person: User) -> str:
    return f"@[{person.display_name}](user:{person.pk})"


def _demo_discussion(welcome: Document, people: list[User]) -> None:
    """Two threads on the welcome document: replies, a mention, reactions, one resolved."""
    if Comment.objects.filter(document=welcome).exists():
        return
    owner, admin, editor, commenter = people[:4]
    anchor = {"position": {"from": 0, "to": 21, "blockId": "welcome"}, "anchor_text": "Welcome to MD Creator"}
    root = comment_create(actor=owner, document=welcome, origin=COMMAND, data={
        "content": f"{_mention(editor)}, could you **review** this before Friday?", "mentions": [editor.pk], **anchor,
    })
    reply = comment_create(actor=editor, document=welcome, origin=COMMAND,
                           data={"content": "On it. I will add a section on sharing.", "parent_id": root.pk})
    comment_create(actor=owner, document=welcome, origin=COMMAND, data={"content": "Thanks!", "parent_id": reply.pk})
    for person, emoji in ((admin, "👍"), (commenter, "👍"), (editor, "🎉")):
        comment_react(actor=person, comment=root, emoji=emoji, origin=COMMAND)
    typo = comment_create(actor=commenter, document=welcome, origin=COMMAND,
                          data={"content": "Typo in the last bullet?"})
    comment_set_resolved(actor=editor, comment=typo, resolved=True, origin=COMMAND)


def _demo_sharing(team: Workspace, welcome: Document, owner: User, guest: User) -> str | None:
    """A viewer grant for the guest account and, once, a view link (guest access on); returns a new link's token."""
    if not DocumentShare.objects.filter(document=welcome, user=guest).exists():
        share_create(actor=owner, document=welcome, role=DocumentShare.Role.VIEWER, user_id=guest.pk)
    if ShareLink.objects.filter(document=welcome).exists():
        return None
    if not team.settings.get("allow_guest_access"):
        workspace_update(workspace=team, actor=owner, data={"settings": {"allow_guest_access": True}})
    welcome.refresh_from_db()
    _, token = link_create(actor=owner, document=welcome, mode=ShareLink.Mode.VIEW)
    return token


def demo_password() -> str:
    """The demo accounts' password, derived from this installation's secret key (HMAC): the same on every run
    here, different on every installation, so seeding a reachable server never opens it with a known password."""
    digest = salted_hmac("seed_demo.password", "demo accounts", algorithm="sha256").hexdigest()
    return f"Demo-{digest[:10]}-{int(digest[10:16], 16) % 10_000:04d}"


def _demo_user(email: str, name: str, password: str) -> User:
    """The demo account, created or brought to the printed password."""
    user = User.objects.filter(email=email).first()
    if user is None:
        return user_create(email=email, password=password, display_name=name, email_verified=True)
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


class Command(BaseCommand):
    help = (
        "Create demo accounts, a team workspace with a member of each role, a document of each type, comment "
        "threads, a guest's grant and a share link (idempotent); print the credentials."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=5, help="How many demo accounts (at least 5: one per role).")

    def handle(self, *args, users: int, **options):
        password = demo_password()
        owner = _demo_user("demo@mdcreator.local", "Demo User", password)
        people = [owner] + [
            _demo_user(f"demo{index}@mdcreator.local", f"Demo User {index}", password)
            for index in range(2, max(5, users) + 1)
        ]
        team = Workspace.objects.filter(owner=owner, name=DEMO_TEAM, deleted_at__isnull=True).first()
        team = team or workspace_create(owner=owner, name=DEMO_TEAM, description="A team to try roles with.")
        for person, role in zip(people[1:], TEAM_ROLES, strict=False):
            WorkspaceMember.objects.get_or_create(workspace=team, user=person, defaults={"role": role, "invited_by": owner})
        _demo_documents(team, owner)
        welcome = Document.objects.get(workspace=team, title="Welcome")
        _demo_discussion(welcome, people)
        guest = _demo_user("guest@mdcreator.local", "Demo Guest", password)
        token = _demo_sharing(team, welcome, owner, guest)
        roles = dict(WorkspaceMember.objects.filter(workspace=team, is_active=True).values_list("user_id", "role"))
        for person in people:
            role = roles.get(person.pk, "not a member")
            self.stdout.write(f"Demo account: {person.email} / {password}  ({DEMO_TEAM}: {role})")
        self.stdout.write(f"Demo guest: {guest.email} / {password}  (viewer grant on \"Welcome\" only)")
        if token:
            self.stdout.write(f"Share link of \"Welcome\" (view): {share_link_url(token)}")
