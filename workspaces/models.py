"""Workspaces, their members and invitations (SPEC §1.2)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from workspaces.roles import Role

GIB = 1024**3


def default_workspace_settings() -> dict:
    return {
        "default_permissions": Role.EDITOR.value,
        "require_invitation": True,
        "allow_guest_access": False,
        "ai_enabled": True,
    }


class Workspace(models.Model):
    """A personal (one per user) or team workspace; holds documents, folders and members."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_workspaces")
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True, default="")
    icon = models.CharField(max_length=50, blank=True, default="")
    color = models.CharField(max_length=20, blank=True, default="")
    is_personal = models.BooleanField(default=False)
    is_team = models.BooleanField(default=True)
    settings = models.JSONField(default=default_workspace_settings)
    storage_used_bytes = models.BigIntegerField(default=0)
    storage_limit_bytes = models.BigIntegerField(default=GIB)
    member_limit = models.PositiveIntegerField(default=10)
    sync_seq = models.BigIntegerField(default=0)
    sync_horizon = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(storage_used_bytes__gte=0), name="workspace_storage_used_non_negative"),
            models.CheckConstraint(
                condition=Q(is_personal=True, is_team=False) | Q(is_personal=False, is_team=True),
                name="workspace_personal_xor_team",
            ),
            models.UniqueConstraint(
                fields=["owner"], condition=Q(is_personal=True), name="workspace_one_personal_per_owner"
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "deleted_at"], name="workspace_owner_del_idx"),
            models.Index(fields=["updated_at"], name="workspace_updated_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class WorkspaceMember(models.Model):
    """A user's role in a workspace, with sparse permission overrides."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    permissions = models.JSONField(default=dict, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    invitation_accepted_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    joined_at = models.DateTimeField(auto_now_add=True)
    last_accessed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="member_unique_per_workspace"),
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(role="owner", is_active=True), name="member_one_active_owner"
            ),
        ]
        indexes = [
            models.Index(fields=["user"], name="member_user_idx"),
            models.Index(fields=["workspace", "role"], name="member_ws_role_idx"),
            models.Index(fields=["workspace", "is_active"], name="member_ws_active_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} as {self.role} in {self.workspace_id}"


class Invitation(models.Model):
    """An emailed invitation to a workspace, or to one of its documents; only the token's hash is stored."""

    class Status(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        DECLINED = "declined"
        EXPIRED = "expired"
        REVOKED = "revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    # Set for a document grant to someone without an account yet: accepting it grants that document.
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.CASCADE, related_name="invitations"
    )
    grant_expires_at = models.DateTimeField(null=True, blank=True)  # the grant's own expiry, for a document
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    email = models.CharField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    declined_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # (workspace, document, email) among pending ones, written as two partial indexes because
            # NULL documents would otherwise never collide.
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=Q(status="pending", document__isnull=True),
                name="invitation_one_pending_per_email",
            ),
            models.UniqueConstraint(
                fields=["document", "email"],
                condition=Q(status="pending", document__isnull=False),
                name="invitation_one_pending_per_document_email",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "status"], name="invitation_ws_status_idx"),
            models.Index(fields=["email", "status"], name="invitation_email_st_idx"),
            models.Index(fields=["expires_at"], condition=Q(status="pending"), name="invitation_pending_exp_idx"),
        ]

    def __str__(self) -> str:
        return f"invitation of {self.email} to {self.workspace_id}"
