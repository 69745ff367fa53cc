"""Re-encrypt every stored API key under the newest Fernet key (SPEC §1.1, §8)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from accounts import encryption
from accounts.services.api_keys import keys_rotate_batch, stored_keys

SHOWN_UNREADABLE = 20


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored API key under the newest key of FIELD_ENCRYPTION_KEYS, in batches by primary key "
        "(one transaction each, rows locked). Keys already under the newest key are skipped, so a second run "
        "rotates 0. Keys no configured key can open are left unchanged and listed; the command then exits 1."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="Keys per transaction (default 500).")
        parser.add_argument("--dry-run", action="store_true", help="Count the keys that would be rotated.")

    def handle(self, *args, batch_size: int, dry_run: bool, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            encryption.check_keys()
        except ImproperlyConfigured as error:
            raise CommandError(str(error)) from None
        total = stored_keys().count()
        verb = "would rotate" if dry_run else "rotated"
        rotated, unreadable, after = 0, [], None
        while True:
            batch = keys_rotate_batch(after=after, size=batch_size, dry_run=dry_run)
            if not batch.seen:
                break
            rotated += batch.rotated
            unreadable += batch.unreadable
            after = batch.last_pk
            self.stdout.write(f"{verb} {rotated} of {total}")
            if batch.seen < batch_size:
                break
        self.stdout.write(f"Done: {verb} {rotated} of {total} stored key(s); {len(unreadable)} unreadable.")
        if unreadable:
            shown = ", ".join(str(pk) for pk in unreadable[:SHOWN_UNREADABLE])
            more = f" and {len(unreadable) - SHOWN_UNREADABLE} more" if len(unreadable) > SHOWN_UNREADABLE else ""
            raise CommandError(
                f"{len(unreadable)} stored key(s) could not be opened with any key of FIELD_ENCRYPTION_KEYS and were "
                f"left unchanged: {shown}{more}. Add the key they were written with (after the newest) and run again."
            )
