"""Operator accounts: the `support` group and staff grants (SPEC §8)."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.models import User

SUPPORT_GROUP = "support"


@transaction.atomic
def support_group_ensure() -> Group:
    """Create the support group if missing and give it view permission on every model.

    Safe to repeat: view permissions of models added since the last run are added too.
    """
    group, _ = Group.objects.get_or_create(name=SUPPORT_GROUP)
    group.permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    return group


@transaction.atomic
def staff_grant(*, user: User) -> bool:
    """Make `user` support staff (is_staff and in the support group); False if it already was."""
    group = support_group_ensure()
    changed = False
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff", "updated_at"])
        changed = True
    if not user.groups.filter(pk=group.pk).exists():
        user.groups.add(group)
        changed = True
    return changed


def user_is_support(user) -> bool:
    """Whether `user` may run the support actions: superusers, or active staff in the support group."""
    if not (user.is_active and user.is_staff):
        return False
    return user.is_superuser or user.groups.filter(name=SUPPORT_GROUP).exists()
