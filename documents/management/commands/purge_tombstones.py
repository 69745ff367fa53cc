"""Hard-delete documents, folders and attachments that have been in the trash too long (SPEC §8)."""

from django.core.management.base import BaseCommand, CommandError

from documents.services.maintenance import tombstones_purge


class Command(BaseCommand):
    help = (
        "Hard-delete tombstoned documents, folders and attachments older than --days (default 30), with the "
        "stored objects and thumbnails of those attachments and of the purged documents'. Sync tombstone entries stay."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; change nothing.")

    def handle(self, *args, days: int, dry_run: bool, **options):
        if days < 0:
            raise CommandError("--days must be zero or more.")
        counts = tombstones_purge(older_than_days=days, dry_run=dry_run)
        verb = "Would purge" if dry_run else "Purged"
        self.stdout.write(
            f"{verb} {counts['documents']} document(s), {counts['folders']} folder(s) and "
            f"{counts['attachments']} trashed attachment(s)."
        )
