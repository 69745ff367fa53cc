"""Rebuild the full-text search vectors."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from documents.services.maintenance import search_reindex
from workspaces.models import Workspace


class Command(BaseCommand):
    help = "Recompute search vectors of every document, or of one --workspace (PostgreSQL only; a no-op on SQLite)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Workspace id.")

    def handle(self, *args, workspace: str | None, **options):
        workspace_id = None
        if workspace:
            try:
                workspace_id = uuid.UUID(workspace)
            except ValueError:
                raise CommandError(f"{workspace!r} is not a workspace id.") from None
            if not Workspace.objects.filter(pk=workspace_id).exists():
                raise CommandError(f"No workspace {workspace_id}.")
        count = search_reindex(workspace_id=workspace_id)
        self.stdout.write(f"Reindexed {count} document(s).")
