"""The password policy of SPEC §3.1: 8–128 characters with upper, lower and digit."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class PasswordPolicyValidator:
    """Length 8–128 and at least one upper-case letter, one lower-case letter and one digit."""

    min_length = 8
    max_length = 128

    def validate(self, password: str, user=None) -> None:
        problems = []
        if len(password) < self.min_length:
            problems.append(f"Use at least {self.min_length} characters.")
        if len(password) > self.max_length:
            problems.append(f"Use at most {self.max_length} characters.")
        if not any(ch.isupper() for ch in password):
            problems.append("Include an upper-case letter.")
        if not any(ch.islower() for ch in password):
            problems.append("Include a lower-case letter.")
        if not any(ch.isdigit() for ch in password):
            problems.append("Include a digit.")
        if problems:
            raise ValidationError(problems, code="password_policy")

    def get_help_text(self) -> str:
        return "8 to 128 characters, with an upper-case letter, a lower-case letter and a digit."
