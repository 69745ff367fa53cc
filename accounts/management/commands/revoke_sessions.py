"""Sign an account out of every device (SPEC §8)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import RefreshToken, User
from accounts.services.sessions import sessions_revoke_all


class Command(BaseCommand):
    help = (
        "Revoke every refresh-token family of an account and print how many tokens were revoked; "
        "its access tokens stop working within 30 seconds. Idempotent: a repeat run revokes 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--dry-run", action="store_true", help="Only count the tokens that would be revoked.")

    def handle(self, *args, email: str, dry_run: bool, **options):
        email = email.strip().lower()
        user = User.objects.filter(email=email).first()
        if user is None:
            raise CommandError(f"No account has the email {email}.")
        if dry_run:
            live = RefreshToken.objects.filter(user=user, revoked_at__isnull=True).count()
            self.stdout.write(f"Would revoke {live} refresh token(s) of {email}.")
            return
        revoked = sessions_revoke_all(user=user, reason=RefreshToken.RevokeReason.ADMIN)
        self.stdout.write(f"Revoked {revoked} refresh token(s) of {email}.")
