"""Seed demo data for the embedded default and print how to sign in."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from accounts.models import User
from accounts.services.users import user_create

DEMO_EMAIL = "demo@mdcreator.local"
DEMO_PASSWORD = "Demo-Password-1"


class Command(BaseCommand):
    help = "Create the demo account (idempotent) and print its credentials."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1, help="How many demo users to create (demo, demo2, ...).")

    def handle(self, *args, users: int, **options):
        for index in range(1, max(1, users) + 1):
            email = DEMO_EMAIL if index == 1 else f"demo{index}@mdcreator.local"
            if not User.objects.filter(email=email).exists():
                user_create(
                    email=email,
                    password=DEMO_PASSWORD,
                    display_name="Demo User" if index == 1 else f"Demo User {index}",
                    email_verified=True,
                )
            self.stdout.write(f"Demo account: {email} / {DEMO_PASSWORD}")
