"""Django admin for workspaces, members and invitations (SPEC §8); actions call services."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q

from accounts.admin_base import ReadOnlyAdmin, SupportActionsMixin, YesNoFilter, report_action
from mdcreator.errors import ProblemError
from workspaces.models import Invitation, Workspace, WorkspaceMember
from workspaces.services.operators import (
    invitation_expire,
    invitation_resend,
    membership_deactivate,
    workspace_restore,
    workspace_soft_delete,
    workspace_storage_recalc,
)


class DeletedFilter(YesNoFilter):
    """Soft-deleted workspaces."""

    title, parameter_name = "deleted", "deleted"

    def condition(self) -> Q:
        return Q(deleted_at__isnull=False)


class MemberInline(admin.TabularInline):
    model = WorkspaceMember
    fk_name = "workspace"
    fields = ("user", "role", "permissions", "is_active", "joined_at", "last_accessed_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Workspace)
class WorkspaceAdmin(SupportActionsMixin, admin.ModelAdmin):
    """Workspaces: search by name, slug or owner; soft delete, restore, recalculate storage."""

    list_display = ("name", "slug", "owner", "is_personal", "member_limit", "storage_used_bytes", "created_at", "deleted_at")
    list_filter = ("is_personal", "is_team", DeletedFilter)
    list_select_related = ("owner",)
    search_fields = ("name", "slug", "owner__email", "id")
    ordering = ("-created_at",)
    readonly_fields = (
        "id", "owner", "slug", "is_personal", "is_team", "storage_used_bytes", "sync_seq", "sync_horizon",
        "created_at", "updated_at", "deleted_at",
    )
    fields = (
        "id", "name", "slug", "owner", "description", "icon", "color", "is_personal", "is_team", "settings",
        "storage_used_bytes", "storage_limit_bytes", "member_limit", "sync_seq", "sync_horizon", "archived_at",
        "created_at", "updated_at", "deleted_at",
    )
    inlines = (MemberInline,)
    actions = ("soft_delete", "restore", "recalculate_storage")

    def has_add_permission(self, request) -> bool:
        # Workspaces are created with their owner membership by `create_workspace` or the API.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Soft delete", permissions=["support"])
    def soft_delete(self, request, queryset) -> None:
        changed = sum(workspace_soft_delete(workspace=w, actor=request.user) for w in queryset)
        report_action(self, request, done=f"Soft-deleted {changed} workspace(s).", selected=queryset, acted=queryset.count())

    @admin.action(description="Restore", permissions=["support"])
    def restore(self, request, queryset) -> None:
        restored, refused = 0, 0
        for workspace in queryset:
            try:
                restored += workspace_restore(workspace=workspace, actor=request.user)
            except ProblemError:
                refused += 1
        report_action(
            self, request, done=f"Restored {restored} workspace(s).", selected=queryset,
            acted=queryset.count() - refused, why="their owner's account was erased",
        )


    @admin.action(description="Recalculate storage used", permissions=["support"])
    def recalculate_storage(self, request, queryset) -> None:
        changes = [c for c in (workspace_storage_recalc(workspace=w) for w in queryset) if c is not None]
        self.message_user(request, f"Recalculated {queryset.count()} workspace(s); {len(changes)} corrected.")
        for change in changes:
            self.message_user(request, f"{change.name}: {change.before} -> {change.after} bytes")


@admin.register(WorkspaceMember)
class WorkspaceMemberAdmin(ReadOnlyAdmin):
    """Memberships, read-only; support may deactivate (remove) members."""

    list_display = ("workspace", "user", "role", "is_active", "joined_at", "last_accessed_at")
    list_filter = ("role", "is_active")
    list_select_related = ("workspace", "user")
    search_fields = ("workspace__name", "user__email")
    ordering = ("workspace__name", "joined_at")
    actions = ("deactivate",)

    @admin.action(description="Deactivate (remove from the workspace)", permissions=["support"])
    def deactivate(self, request, queryset) -> None:
        members = list(queryset.exclude(role="owner"))
        changed = sum(membership_deactivate(member=m, actor=request.user) for m in members)
        report_action(
            self, request, done=f"Deactivated {changed} membership(s).", selected=queryset, acted=len(members),
            why="owners cannot be removed; transfer ownership first",
        )


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Invitations; the token hash is never displayed."""

    list_display = ("email", "workspace", "role", "status", "invited_by", "created_at", "expires_at")
    list_filter = ("status", "role")
    list_select_related = ("workspace", "invited_by")
    search_fields = ("email", "workspace__name")
    ordering = ("-created_at",)
    fields = (
        "id", "workspace", "email", "role", "status", "message", "invited_by", "user", "created_at", "expires_at",
        "accepted_at", "declined_at",
    )
    actions = ("expire", "resend")

    @admin.action(description="Expire now", permissions=["support"])
    def expire(self, request, queryset) -> None:
        changed = sum(invitation_expire(invitation=i) for i in queryset)
        report_action(self, request, done=f"Expired {changed} invitation(s).", selected=queryset, acted=changed,
                why="not pending")

    @admin.action(description="Resend (new link, 7 more days)", permissions=["support"])
    def resend(self, request, queryset) -> None:
        changed = sum(invitation_resend(invitation=i) for i in queryset)
        report_action(self, request, done=f"Resent {changed} invitation(s).", selected=queryset, acted=changed,
                why="not pending")
