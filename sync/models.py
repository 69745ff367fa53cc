"""The per-workspace change log that offline clients pull (SPEC §1.5, §4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mdcreator.constraints import null_not_empty
from sync.origin import OriginKind


class SyncLog(models.Model):
    """One change to a synced entity; `seq` is the workspace's gap-free sync cursor."""

    class EntityType(models.TextChoices):
        DOCUMENT = "document"
        FOLDER = "folder"
        COMMENT = "comment"
        ATTACHMENT = "attachment"
        CONTEXT_FILE = "context_file"
        MEMBER = "member"
        WORKSPACE = "workspace"

    class Operation(models.TextChoices):
        CREATE = "create"
        UPDATE = "update"
        DELETE = "delete"

    id = models.BigAutoField(primary_key=True)
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="sync_entries")
    seq = models.BigIntegerField()
    entity_type = models.CharField(max_length=20, choices=EntityType.choices)
    entity_id = models.UUIDField()
    operation = models.CharField(max_length=10, choices=Operation.choices)
    changes = models.JSONField(default=dict)
    data = models.JSONField(default=dict)
    content_hash = models.CharField(max_length=64, null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    origin = models.CharField(max_length=10, choices=OriginKind.choices, default=OriginKind.REST)
    device_id = models.CharField(max_length=255, null=True, blank=True)
    client_version = models.CharField(max_length=50, null=True, blank=True)
    client_change_id = models.UUIDField(null=True, blank=True)
    timestamp = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "seq"], name="synclog_workspace_seq_unique"),
            null_not_empty("content_hash", name="synclog_content_hash_not_empty"),
            null_not_empty("device_id", name="synclog_device_id_not_empty"),
            null_not_empty("client_version", name="synclog_client_version_not_empty"),
        ]
        indexes = [
            models.Index(fields=["entity_type", "entity_id", "-seq"], name="synclog_entity_idx"),
            models.Index(fields=["timestamp"], name="synclog_timestamp_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.operation} {self.entity_type} {self.entity_id}"


class SyncPushReceipt(models.Model):
    """The result returned for one pushed change, so a retried push returns it again (kept 30 days)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    change_id = models.UUIDField()
    workspace = models.ForeignKey("workspaces.Workspace", on_delete=models.CASCADE, related_name="+")
    result = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "change_id"], name="sync_receipt_user_change_unique")]
        indexes = [models.Index(fields=["created_at"], name="sync_receipt_created_idx")]

    def __str__(self) -> str:
        return f"receipt of {self.change_id} for {self.user_id}"
