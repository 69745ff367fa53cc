"""Clear what has expired: presence, invitations, grants' permissions, email codes, refresh tokens and
uploads never confirmed (SPEC §8)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from accounts.services.maintenance import credentials_purge_expired
from collab.sessions import presence_purge_stale
from documents.services.context_file_ops import context_files_purge_pending
from documents.services.shares import shares_purge_expired
from documents.services.storage_ops import attachments_purge_pending
from workspaces.services.invitations import invitations_expire_stale


class Command(BaseCommand):
    help = (
        "Delete stale presence rows, expired email codes and refresh tokens; mark overdue invitations expired; "
        "remove the permissions of expired document grants; delete uploads and context files left unconfirmed for "
        "over an hour with their objects (a context file's object only when no other row names it). "
        "Idempotent; --dry-run only counts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; change nothing.")

    def handle(self, *args, dry_run: bool, **options):
        counts = {"stale presence rows": presence_purge_stale(dry_run=dry_run)}
        counts["invitations"] = invitations_expire_stale(dry_run=dry_run)
        counts["expired grants"] = shares_purge_expired(dry_run=dry_run)
        counts.update(credentials_purge_expired(dry_run=dry_run))
        counts["unconfirmed uploads"] = attachments_purge_pending(dry_run=dry_run)
        counts["unconfirmed context files"] = context_files_purge_pending(dry_run=dry_run)
        verb = "Would clear" if dry_run else "Cleared"
        for name, count in counts.items():
            self.stdout.write(f"{verb} {count} {name}.")
