"""Recalculate workspaces' storage usage from their attachments (SPEC §8)."""

from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError

from workspaces.services.operators import workspaces_storage_recalc


class Command(BaseCommand):
    help = (
        "Set each workspace's storage_used_bytes to the size of its complete, non-deleted attachments and synced "
        "context-file objects "
        "(one workspace with --workspace ID); prints before/after for every workspace that changed. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="Only this workspace (its id).")
        parser.add_argument("--dry-run", action="store_true", help="Report the differences; change nothing.")

    def handle(self, *args, workspace: str | None, dry_run: bool, **options):
        try:
            workspace_id = uuid.UUID(workspace) if workspace else None
        except ValueError:
            raise CommandError("--workspace must be a workspace id (a UUID).") from None
        changes = workspaces_storage_recalc(workspace_id=workspace_id, dry_run=dry_run, progress=self.stdout.write)
        for change in changes:
            self.stdout.write(f"{change.workspace_id} {change.name!r}: {change.before} -> {change.after} bytes")
        verb = "Would correct" if dry_run else "Corrected"
        self.stdout.write(f"{verb} {len(changes)} workspace(s).")
