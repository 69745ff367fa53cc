"""Create a local account from the command line (SPEC §8)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.models import User
from accounts.services.staff import staff_grant
from accounts.services.users import user_create, user_mark_verified
from mdcreator import errors


def problem_message(problem: errors.ProblemError) -> str:
    """One line naming every offending field of a problem, for the terminal."""
    fields = problem.extra.get("errors") or {}
    if not fields:
        return problem.detail
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in fields.items())


class Command(BaseCommand):
    help = (
        "Create a local account with a password (checked against the password policy). "
        "Idempotent: when the email already exists its password and name are left unchanged, "
        "--verified and --staff are still applied (they only ever add), and the command exits 0."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", required=True)
        parser.add_argument("--display-name", default="", help="Defaults to the local part of the email.")
        parser.add_argument("--staff", action="store_true", help="Make the account support staff, as grant_staff.")
        parser.add_argument("--verified", action="store_true", help="Mark the email address verified.")

    def handle(self, *args, email: str, password: str, display_name: str, staff: bool, verified: bool, **options):
        email = email.strip().lower()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"'{email}' is not a valid email address.") from None
        user = User.objects.filter(email=email).first()
        if user is None:
            try:
                user = user_create(email=email, password=password, display_name=display_name, email_verified=verified)
            except errors.ProblemError as exc:
                raise CommandError(problem_message(exc)) from None
            self.stdout.write(f"Created {email}.")
        else:
            self.stdout.write(f"{email} already exists; its password and name were left unchanged.")
            if verified and user_mark_verified(user=user):
                self.stdout.write(f"Marked {email} verified.")
        if staff and staff_grant(user=user):
            self.stdout.write(f"Made {email} support staff.")
