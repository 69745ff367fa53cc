"""Django admin for live-collaboration state (SPEC §8)."""

from django.contrib import admin
from django.utils import timezone

from accounts.admin_base import ReadOnlyAdmin, report_action
from collab.models import CollabState, CollabUpdate, Presence
from collab.services import collab_materialize
from collab.store import compact


@admin.register(CollabState)
class CollabStateAdmin(ReadOnlyAdmin):
    list_display = ("document", "state_seq", "last_seq", "materialized_seq", "size_bytes", "updated_at")
    list_select_related = ("document",)
    search_fields = ("document__title", "document__id")
    exclude = ("state",)
    actions = ("compact_and_rematerialize",)

    @admin.action(description="Compact and rematerialize", permissions=["support"])
    def compact_and_rematerialize(self, request, queryset) -> None:
        for record in queryset:
            collab_materialize(record.document_id)
            compact(record.document_id)
        report_action(self, request, done=f"Compacted {queryset.count()} document(s).", selected=queryset,
                      acted=queryset.count())


@admin.register(CollabUpdate)
class CollabUpdateAdmin(ReadOnlyAdmin):
    list_display = ("document", "seq", "user", "created_at")
    list_select_related = ("document", "user")
    search_fields = ("document__id",)
    exclude = ("update",)


@admin.register(Presence)
class PresenceAdmin(ReadOnlyAdmin):
    list_display = ("user", "document", "device_type", "is_active", "connected_at", "last_activity_at", "expires_at")
    list_filter = ("is_active", "device_type")
    list_select_related = ("user", "document")
    search_fields = ("user__email", "document__title")
    actions = ("purge_stale",)

    @admin.action(description="Purge stale presence (expired)", permissions=["support"])
    def purge_stale(self, request, queryset) -> None:
        stale = list(queryset.filter(expires_at__lte=timezone.now()).values_list("pk", flat=True))
        # Reported first: the report counts the selection, which the deletion shrinks.
        report_action(self, request, done=f"Purged {len(stale)} stale row(s).", selected=queryset, acted=len(stale),
                      why="still live")
        Presence.objects.filter(pk__in=stale).delete()
