"""Compact the sync log: superseded entries, old tombstones (raising the horizon) and old push receipts (SPEC §8)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from sync.compaction import compact_sync_log


class Command(BaseCommand):
    help = (
        "Delete sync entries superseded by a later entry of the same entity, tombstones older than "
        "--tombstone-days (raising each workspace's sync horizon) and push receipts older than --receipt-days. "
        "Works in batches; safe while writers run; idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tombstone-days", type=int, default=90)
        parser.add_argument("--receipt-days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; change nothing.")

    def handle(self, *args, tombstone_days: int, receipt_days: int, dry_run: bool, **options):
        report = compact_sync_log(
            tombstone_days=tombstone_days, receipt_days=receipt_days, dry_run=dry_run, progress=self.stdout.write
        )
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {report.superseded} superseded entries, {report.tombstones} old tombstones and "
            f"{report.receipts} push receipts; {len(report.horizons)} workspace horizon(s) raised."
        )
