"""Django admin for documents, folders and their read-only satellites (SPEC §8); actions call services."""

from __future__ import annotations

from django.contrib import admin

from accounts.admin_base import ReadOnlyAdmin, SupportActionsMixin, report_action
from documents.models import Document, DocumentStar, DocumentTag, DocumentVersion, Folder, Mindmap
from documents.services.documents import document_tags, document_undelete
from documents.services.maintenance import document_purge
from documents.services.search_index import search_index_refresh
from sync.origin import ADMIN


@admin.register(Document)
class DocumentAdmin(SupportActionsMixin, admin.ModelAdmin):
    """Documents: search by title or id; undelete, purge, reindex."""

    list_display = ("title", "type", "workspace", "created_by", "size_bytes", "updated_at", "deleted")
    list_filter = ("type", "deleted", "workspace")
    list_select_related = ("workspace", "created_by")
    search_fields = ("title", "id")
    ordering = ("-updated_at",)
    exclude = ("search_vector",)
    readonly_fields = (
        "id", "workspace", "type", "content_hash", "size_bytes", "word_count", "view_count", "created_by",
        "updated_by", "created_at", "updated_at", "last_viewed_at", "last_edited_at", "deleted", "deleted_at",
        "deleted_by",
    )
    actions = ("undelete", "purge_now", "reindex_search")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Content changes go through the API so versions, search and sync stay in step.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Undelete (restore from the trash)", permissions=["support"])
    def undelete(self, request, queryset) -> None:
        trashed = list(queryset.filter(deleted=True))
        for document in trashed:
            document_undelete(actor=request.user, document=document, origin=ADMIN)
        report_action(self, request, done=f"Restored {len(trashed)} document(s).", selected=queryset, acted=len(trashed),
                why="not in the trash")

    @admin.action(description="Purge now (hard delete, trash only)", permissions=["support"])
    def purge_now(self, request, queryset) -> None:
        trashed = list(queryset.filter(deleted=True))
        for document in trashed:
            document_purge(document=document)
        report_action(self, request, done=f"Purged {len(trashed)} document(s).", selected=queryset, acted=len(trashed),
                why="only documents in the trash are purged")

    @admin.action(description="Reindex search", permissions=["support"])
    def reindex_search(self, request, queryset) -> None:
        for document in queryset:
            search_index_refresh(document_id=document.pk, tags=document_tags(document))
        report_action(self, request, done=f"Reindexed {queryset.count()} document(s).", selected=queryset,
                acted=queryset.count())


@admin.register(Folder)
class FolderAdmin(ReadOnlyAdmin):
    list_display = ("name", "workspace", "parent", "position", "deleted_at")
    list_filter = ("workspace",)
    list_select_related = ("workspace", "parent")
    search_fields = ("name", "id")


@admin.register(DocumentVersion)
class DocumentVersionAdmin(ReadOnlyAdmin):
    list_display = ("document", "version_number", "source", "created_by", "created_at", "size_bytes")
    list_filter = ("source",)
    list_select_related = ("document", "created_by")
    search_fields = ("document__title", "document__id")


@admin.register(Mindmap)
class MindmapAdmin(ReadOnlyAdmin):
    list_display = ("document", "layout_type", "ai_generated", "updated_at")
    list_select_related = ("document",)
    search_fields = ("document__title",)


@admin.register(DocumentTag)
class DocumentTagAdmin(ReadOnlyAdmin):
    list_display = ("tag", "document")
    list_select_related = ("document",)
    search_fields = ("tag", "document__title")


@admin.register(DocumentStar)
class DocumentStarAdmin(ReadOnlyAdmin):
    list_display = ("user", "document", "created_at")
    list_select_related = ("user", "document")
    search_fields = ("user__email", "document__title")
