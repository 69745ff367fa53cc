"""Thin out old automatic versions."""

from django.core.management.base import BaseCommand, CommandError

from documents.services.maintenance import versions_prune


class Command(BaseCommand):
    help = "Beyond --keep-days (default 30), keep manual and restore versions and one auto version per document per day."

    def add_arguments(self, parser):
        parser.add_argument("--keep-days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, keep_days: int, dry_run: bool, **options):
        if keep_days < 0:
            raise CommandError("--keep-days must be zero or more.")
        count = versions_prune(keep_days=keep_days, dry_run=dry_run)
        self.stdout.write(f"{'Would delete' if dry_run else 'Deleted'} {count} version(s).")
