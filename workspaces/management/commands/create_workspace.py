"""Create a workspace for an existing account (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from workspaces.models import Workspace
from workspaces.services.workspaces import workspace_create


class Command(BaseCommand):
    help = (
        "Create a workspace owned by --owner. With --team a team workspace, else the owner's personal one. "
        "If the owner already has a live workspace of that kind and name (or any personal one), it is reported, not duplicated."
    )

    def add_arguments(self, parser):
        parser.add_argument("--owner", required=True, help="Email of the owning account.")
        parser.add_argument("--name", required=True)
        parser.add_argument("--team", action="store_true", help="Create a team workspace.")

    def handle(self, *args, owner: str, name: str, team: bool, **options):
        name = name.strip()
        if not name or len(name) > 255:
            raise CommandError("--name must be 1 to 255 characters.")
        user = User.objects.filter(email=owner.strip().lower(), deleted_at__isnull=True).first()
        if user is None:
            raise CommandError(f"No account with email {owner!r}.")
        existing = Workspace.objects.filter(owner=user, deleted_at__isnull=True, is_team=team)
        existing = existing.filter(name=name) if team else existing
        found = existing.first()
        if found is not None:
            self.stdout.write(f"Exists: {found.name} ({found.pk}, slug {found.slug})")
            return
        workspace = workspace_create(owner=user, name=name, is_personal=not team)
        self.stdout.write(self.style.SUCCESS(f"Created: {workspace.name} ({workspace.pk}, slug {workspace.slug})"))
