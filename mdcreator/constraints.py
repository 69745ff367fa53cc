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


def empty_strings_to_null(app_label: str, fields: dict[str, list[str]]):
    """A data migration for `null_not_empty`: rows written before the constraint get NULL for "".

    `fields` maps a model name of `app_label` to its nullable string columns; the result is the
    forward function of a `RunPython` operation.
    """

    def forwards(apps, schema_editor) -> None:
        for model_name, names in fields.items():
            model = apps.get_model(app_label, model_name)
            for name in names:
                model.objects.filter(**{name: ""}).update(**{name: None})

    return forwards
