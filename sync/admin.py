"""Django admin for the sync log (read-only, SPEC §8)."""

from django.contrib import admin

from accounts.admin_base import ReadOnlyAdmin
from sync.models import SyncLog, SyncPushReceipt


@admin.register(SyncLog)
class SyncLogAdmin(ReadOnlyAdmin):
    list_display = ("workspace", "seq", "entity_type", "operation", "entity_id", "changed_by", "origin", "timestamp")
    list_filter = ("entity_type", "operation", "origin")
    list_select_related = ("workspace", "changed_by")
    search_fields = ("entity_id", "workspace__name")
    ordering = ("-id",)


@admin.register(SyncPushReceipt)
class SyncPushReceiptAdmin(ReadOnlyAdmin):
    list_display = ("change_id", "user", "workspace", "created_at")
    list_select_related = ("user", "workspace")
    search_fields = ("change_id", "user__email")
    ordering = ("-id",)
