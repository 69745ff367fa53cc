"""Django admin for documents, folders and their read-only satellites (SPEC §8); actions call services."""

from __future__ import annotations

from django.contrib import admin, messages

from accounts.admin_base import ReadOnlyAdmin, SupportActionsMixin, report_action
from documents.models import (
    Attachment,
    Comment,
    ContextFile,
    Document,
    DocumentShare,
    DocumentStar,
    DocumentTag,
    DocumentVersion,
    Folder,
    Mindmap,
    ShareLink,
)
from documents.services.attachments import attachment_delete
from documents.services.comments import comment_delete, comment_restore
from documents.services.context_file_ops import context_file_reverify
from documents.services.context_files import context_file_delete
from documents.services.documents import document_tags, document_undelete
from documents.services.links import link_revoke
from documents.services.maintenance import document_purge
from documents.services.search_index import search_index_refresh
from documents.services.shares import share_revoke
from documents.services.storage_ops import attachment_reverify
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
            document_purge(document=document, actor=request.user)
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


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    """Comments: search content and author; soft delete and restore."""

    list_display = ("document", "author", "depth", "resolved", "created_at", "deleted_at")
    list_filter = ("resolved", ("deleted_at", admin.EmptyFieldListFilter))
    list_select_related = ("document", "author")
    search_fields = ("content", "author__email", "author__display_name", "id")
    ordering = ("-created_at",)
    actions = ("soft_delete", "restore")

    @admin.action(description="Soft delete", permissions=["support"])
    def soft_delete(self, request, queryset) -> None:
        live = list(queryset.filter(deleted_at__isnull=True))
        for comment in live:
            comment_delete(actor=request.user, comment=comment, origin=ADMIN)
        report_action(self, request, done=f"Deleted {len(live)} comment(s).", selected=queryset, acted=len(live),
                      why="already deleted")

    @admin.action(description="Restore", permissions=["support"])
    def restore(self, request, queryset) -> None:
        deleted = list(queryset.filter(deleted_at__isnull=False))
        for comment in deleted:
            comment_restore(actor=request.user, comment=comment, origin=ADMIN)
        report_action(self, request, done=f"Restored {len(deleted)} comment(s).", selected=queryset,
                      acted=len(deleted), why="not deleted")


@admin.register(DocumentShare)
class DocumentShareAdmin(ReadOnlyAdmin):
    """Document grants: revoke."""

    list_display = ("document", "user", "role", "status", "granted_at", "expires_at")
    list_filter = ("role", "status")
    list_select_related = ("document", "user")
    search_fields = ("document__title", "user__email", "id")
    actions = ("revoke",)

    @admin.action(description="Revoke", permissions=["support"])
    def revoke(self, request, queryset) -> None:
        active = list(queryset.filter(status=DocumentShare.Status.ACTIVE))
        for share in active:
            share_revoke(share=share)
        report_action(self, request, done=f"Revoked {len(active)} grant(s).", selected=queryset, acted=len(active),
                      why="already revoked")


@admin.register(ShareLink)
class ShareLinkAdmin(ReadOnlyAdmin):
    """Share links (only the token's first characters are shown): revoke."""

    list_display = ("token_prefix", "document", "mode", "uses_count", "max_uses", "expires_at", "revoked_at")
    list_filter = ("mode", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("document",)
    search_fields = ("token_prefix", "document__title", "id")
    exclude = ("token_hash", "password_hash")
    actions = ("revoke",)

    @admin.action(description="Revoke", permissions=["support"])
    def revoke(self, request, queryset) -> None:
        live = list(queryset.filter(revoked_at__isnull=True))
        for link in live:
            link_revoke(link=link)
        report_action(self, request, done=f"Revoked {len(live)} link(s).", selected=queryset, acted=len(live),
                      why="already revoked")


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    """Attachments: search by file name, key or workspace; re-verify the object, delete it."""

    list_display = ("file_name", "workspace", "document", "content_type", "size_bytes", "processing_status",
                    "storage_backend", "uploaded_at", "deleted_at")
    list_filter = ("processing_status", "storage_backend", ("deleted_at", admin.EmptyFieldListFilter))
    list_select_related = ("workspace", "document")
    search_fields = ("file_name", "original_name", "s3_key", "workspace__name", "workspace__slug", "=workspace__id",
                     "=id")
    ordering = ("-uploaded_at",)
    actions = ("reverify_object", "delete_object")

    @admin.action(description="Re-verify object (HEAD and size; mark failed when missing or wrong)",
                  permissions=["support"])
    def reverify_object(self, request, queryset) -> None:
        confirmed = list(queryset.filter(processing_status=Attachment.Status.COMPLETE, deleted_at__isnull=True))
        failures = [(a, attachment_reverify(attachment=a, actor=request.user, origin=ADMIN)) for a in confirmed]
        failures = [(a, reason) for a, reason in failures if reason is not None]
        report_action(self, request, done=f"Re-verified {len(confirmed)} attachment(s); {len(failures)} failed.",
                      selected=queryset, acted=len(confirmed), why="not complete, or deleted")
        for attachment, reason in failures:
            self.message_user(request, f"{attachment.file_name} ({attachment.pk}) marked failed: {reason}",
                              messages.WARNING)

    @admin.action(description="Delete object (and thumbnail; soft-deletes the row, gives quota back)",
                  permissions=["support"])
    def delete_object(self, request, queryset) -> None:
        live = list(queryset.filter(deleted_at__isnull=True))
        for attachment in live:
            attachment_delete(actor=request.user, attachment=attachment, origin=ADMIN)
        report_action(self, request, done=f"Deleted {len(live)} attachment(s) and their objects.",
                      selected=queryset, acted=len(live), why="already deleted")


@admin.register(ContextFile)
class ContextFileAdmin(ReadOnlyAdmin):
    """Context files: search by file name, hash or workspace; re-verify the object, delete it."""

    list_display = ("file_name", "workspace", "document", "file_type", "size_bytes", "storage_mode", "sync_status",
                    "created_by", "created_at", "deleted_at")
    list_filter = ("sync_status", "storage_mode", ("deleted_at", admin.EmptyFieldListFilter))
    list_select_related = ("workspace", "document", "created_by")
    search_fields = ("file_name", "=content_hash", "s3_key", "workspace__name", "workspace__slug",
                     "=workspace__id", "=id")
    ordering = ("-created_at",)
    actions = ("reverify_object", "delete_object")

    @admin.action(description="Re-verify object (size and sha256; back to pending when missing or wrong)",
                  permissions=["support"])
    def reverify_object(self, request, queryset) -> None:
        synced = list(queryset.filter(sync_status=ContextFile.SyncStatus.SYNCED, deleted_at__isnull=True,
                                      s3_key__isnull=False))
        failures = [(row, context_file_reverify(context_file=row, actor=request.user, origin=ADMIN)) for row in synced]
        failures = [(row, reason) for row, reason in failures if reason is not None]
        report_action(self, request, done=f"Re-verified {len(synced)} context file(s); {len(failures)} failed.",
                      selected=queryset, acted=len(synced), why="not synced to the store, or deleted")
        for row, reason in failures:
            self.message_user(request, f"{row.file_name} ({row.pk}) back to pending: {reason}", messages.WARNING)

    @admin.action(description="Delete object (soft-deletes the row; the object goes with its last row)",
                  permissions=["support"])
    def delete_object(self, request, queryset) -> None:
        live = list(queryset.filter(deleted_at__isnull=True))
        for row in live:
            context_file_delete(actor=request.user, context_file=row, origin=ADMIN)
        report_action(self, request, done=f"Deleted {len(live)} context file(s).", selected=queryset,
                      acted=len(live), why="already deleted")
