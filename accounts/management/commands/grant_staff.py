"""Make an account support staff (SPEC §8)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from accounts.services.staff import SUPPORT_GROUP, staff_grant


class Command(BaseCommand):
    help = (
        f"Give an account is_staff and membership of the '{SUPPORT_GROUP}' group, creating the group "
        "with view permission on every model if missing. Idempotent; a repeat run also adds view "
        "permissions of models added since."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email: str, **options):
        email = email.strip().lower()
        user = User.objects.filter(email=email).first()
        if user is None:
            raise CommandError(f"No account has the email {email}.")
        if user.deleted_at is not None:
            raise CommandError(f"The account {email} was erased.")
        if staff_grant(user=user):
            self.stdout.write(f"{email} is now support staff.")
        else:
            self.stdout.write(f"{email} already was support staff.")
