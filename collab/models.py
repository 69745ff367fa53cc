"""Live collaboration state: the compacted Yjs state, the durable update log, presence (SPEC §1.4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CollabState(models.Model):
    """The compacted Yjs state of one document and its per-document update sequence."""

    document = models.OneToOneField(
        "documents.Document", on_delete=models.CASCADE, primary_key=True, related_name="collab_state"
    )
    state = models.BinaryField(default=b"")
    state_seq = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(default=0)
    materialized_seq = models.BigIntegerField(default=0)
    size_bytes = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"collab state of {self.document_id} @ {self.last_seq}"


class CollabUpdate(models.Model):
    """One accepted Yjs update, stored before anyone sees it; merged into the state by compaction."""

    id = models.BigAutoField(primary_key=True)
    document = models.ForeignKey("documents.Document", on_delete=models.CASCADE, related_name="collab_updates")
    seq = models.BigIntegerField()
    update = models.BinaryField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "seq"], name="collab_update_seq_unique")]

    def __str__(self) -> str:
        return f"update {self.seq} of {self.document_id}"


class Presence(models.Model):
    """One live connection to a document (written on connect, heartbeat and disconnect)."""

    class DeviceType(models.TextChoices):
        WEB = "web"
        DESKTOP = "desktop"
        MOBILE = "mobile"
        UNKNOWN = "unknown"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presences")
    document = models.ForeignKey("documents.Document", on_delete=models.CASCADE, related_name="presences")
    connection_id = models.CharField(max_length=255, unique=True)
    device_type = models.CharField(max_length=10, choices=DeviceType.choices, default=DeviceType.UNKNOWN)
    device_name = models.CharField(max_length=255, blank=True, default="")
    cursor_position = models.JSONField(null=True, blank=True)
    selection_range = models.JSONField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_typing = models.BooleanField(default=False)
    current_block_id = models.CharField(max_length=255, blank=True, default="")
    connected_at = models.DateTimeField(auto_now_add=True)
    last_activity_at = models.DateTimeField(auto_now_add=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["document", "is_active"], name="presence_document_active_idx"),
            models.Index(fields=["expires_at"], name="presence_expires_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.document_id}"
