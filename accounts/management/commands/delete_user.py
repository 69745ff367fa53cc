"""Erase an account as DELETE auth/me does (anonymize, keep shared content)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.parts import check_erasable
from accounts.services.erasure import user_delete
from mdcreator.errors import ProblemError


class Command(BaseCommand):
    help = (
        "Erase the account with --email: sessions and codes deleted, owned unshared workspaces soft-deleted, "
        "memberships ended, the profile anonymized. Refused while it owns a team workspace with other members. "
        "An already erased account is reported and left alone."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--dry-run", action="store_true", help="Say what would happen; change nothing.")

    def handle(self, *args, email: str, dry_run: bool, **options):
        user = User.objects.filter(email=email.strip().lower()).first()
        if user is None:
            raise CommandError(f"No account with email {email!r} (erased accounts no longer carry their email).")
        try:
            check_erasable(user)
        except ProblemError as refusal:
            raise CommandError(f"{user.email} cannot be erased yet: {refusal.detail}") from None
        if dry_run:
            self.stdout.write(f"Would erase {user.email} ({user.pk}).")
            return
        user_delete(user=user)
        self.stdout.write(self.style.SUCCESS(f"Erased account {user.pk}."))
