"""Compare stored objects with attachment and context-file rows; --fix repairs what it finds (SPEC §8)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from documents.services.storage_ops import storage_check


class Command(BaseCommand):
    help = (
        "Report complete attachments and synced context files whose object is missing, objects under "
        "attachments/, thumbnails/ and context-files/ that no (live) row references, and objects that deleted "
        "attachments left behind. Nothing changes without --fix, which marks such attachments failed and puts "
        "such context files back to pending (giving their quota back) and deletes the other objects."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true", help="Repair what is found.")

    def handle(self, *args, fix: bool, **options):
        report = storage_check(fix=fix, progress=self.stdout.write)
        for row, reason in report.missing:
            self.stdout.write(f"missing: attachment {row.pk} ({row.s3_key}): {reason}")
        for row, reason in report.missing_context_files:
            self.stdout.write(f"missing: context file {row.pk} ({row.s3_key}): {reason}")
        for key in report.orphans:
            self.stdout.write(f"orphan: {key}")
        for key in report.leftovers:
            self.stdout.write(f"left after deletion: {key}")
        summary = (
            f"{len(report.missing)} attachment(s) without their object, {len(report.orphans)} orphan object(s), "
            f"{len(report.leftovers)} object(s) of deleted attachments, "
            f"{len(report.missing_context_files)} context file(s) without their object"
        )
        if not (report.missing or report.orphans or report.leftovers or report.missing_context_files):
            self.stdout.write("Storage and attachment rows agree.")
        elif fix:
            self.stdout.write(f"Fixed: {summary}.")
        else:
            self.stdout.write(f"Found: {summary}. Run with --fix to repair.")
