"""Nullable string columns have one empty value, NULL: the database refuses "" (what ruff's DJ001 guards)."""

import pytest
from django.apps import apps
from django.db import IntegrityError, models, transaction

from accounts.tests.factories import UserFactory
from mdcreator.constraints import null_not_empty

OUR_APPS = ("accounts", "workspaces", "documents", "collab", "sync")


def _nullable_strings():
    for app in OUR_APPS:
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.concrete_fields:
                if isinstance(field, models.CharField | models.TextField) and field.null:
                    yield pytest.param(model, field.name, id=f"{model._meta.label}.{field.name}")


def test_constraints_cover_at_least_the_known_nullable_strings():
    found = {param.id for param in _nullable_strings()}
    assert {"accounts.User.username", "accounts.User.oidc_sub", "documents.Folder.color",
            "sync.SyncLog.device_id"} <= found


@pytest.mark.parametrize(("model", "field"), list(_nullable_strings()))
def test_constraints_nullable_string_columns_refuse_the_empty_string(model, field):
    wanted = null_not_empty(field, name="any").condition
    conditions = [c.condition for c in model._meta.constraints if isinstance(c, models.CheckConstraint)]
    assert wanted in conditions, f'{model._meta.label}.{field} is nullable but accepts "" too: add null_not_empty'


@pytest.mark.django_db
def test_constraints_are_enforced_by_the_database():
    user = UserFactory()
    for field in ("username", "avatar_url", "oidc_sub"):
        with pytest.raises(IntegrityError), transaction.atomic():
            type(user).objects.filter(pk=user.pk).update(**{field: ""})
        type(user).objects.filter(pk=user.pk).update(**{field: None})  # NULL stays the way to say "none"
