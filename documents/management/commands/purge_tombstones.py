"""Hard-delete documents and folders that have been in the trash too long."""

from django.core.management.base import BaseCommand, CommandError

from documents.services.maintenance import tombstones_purge


class Command(BaseCommand):
    help = "Hard-delete tombstoned documents and folders older than --days (default 30). Sync tombstone entries stay."

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, days: int, dry_run: bool, **options):
        if days < 0:
            raise CommandError("--days must be zero or more.")
        counts = tombstones_purge(older_than_days=days, dry_run=dry_run)
        verb = "Would purge" if dry_run else "Purged"
        self.stdout.write(f"{verb} {counts['documents']} document(s) and {counts['folders']} folder(s).")
