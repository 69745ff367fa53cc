"""Shared pieces of every app's admin: the support permission, read-only models, action reports."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q

from accounts.services.staff import user_is_support

NOT_YOURS = "accounts you may not act on"


class SupportActionsMixin:
    """Adds the `support` action permission: superusers, or active staff in the support group."""

    def has_support_permission(self, request) -> bool:
        if not hasattr(request, "_accounts_is_support"):
            request._accounts_is_support = user_is_support(request.user)
        return request._accounts_is_support


def report_action(model_admin, request, *, done: str, selected, acted: int, why: str = NOT_YOURS) -> None:
    """Tell the operator what an action did and how many `selected` rows it left alone, and why."""
    model_admin.message_user(request, done, messages.SUCCESS)
    skipped = selected.count() - acted
    if skipped:
        model_admin.message_user(request, f"Skipped {skipped} selected row(s): {why}.", messages.WARNING)


class YesNoFilter(admin.SimpleListFilter):
    """A yes/no filter on one condition."""

    def lookups(self, request, model_admin):
        return (("yes", "Yes"), ("no", "No"))

    def condition(self) -> Q:
        raise NotImplementedError

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(self.condition())
        if self.value() == "no":
            return queryset.exclude(self.condition())
        return queryset


class ReadOnlyAdmin(SupportActionsMixin, admin.ModelAdmin):
    """Rows written only by the services: nobody adds, edits or deletes them here, actions aside."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # These rows are a record (revocations, history); deleting one would forget it.
        return False
