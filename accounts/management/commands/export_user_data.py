"""Write an account's export (the same document as GET auth/me/export) to a file."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from accounts.exports import user_export
from accounts.models import User


class Command(BaseCommand):
    help = "Export everything an account owns as JSON to --output."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--output", required=True, help="File to write; '-' for standard output.")

    def handle(self, *args, email: str, output: str, **options):
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"No account with email {email!r}.")
        text = json.dumps(user_export(user=user), ensure_ascii=False, indent=2)
        if output == "-":
            self.stdout.write(text)
            return
        try:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}") from None
        self.stdout.write(self.style.SUCCESS(f"Wrote the export of {user.email} to {output}."))
