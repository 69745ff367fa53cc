"""Database constraints shared by the apps' models."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


def null_not_empty(field: str, *, name: str) -> models.CheckConstraint:
    """A nullable string column has one empty value, NULL: the database refuses "".

    The API says null for "none", unique columns (usernames, OIDC subjects) need NULL to stay unique
    when unset, and this constraint keeps "" from becoming a second meaning of "none"
    (tests/test_model_constraints.py checks every nullable string column has it).
    """
    return models.CheckConstraint(condition=Q(**{f"{field}__isnull": True}) | ~Q(**{field: ""}), name=name)
