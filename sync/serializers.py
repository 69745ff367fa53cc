"""Input shapes of the sync endpoints (SPEC §3.7)."""

from __future__ import annotations

from rest_framework import serializers

from mdcreator.fields import IntegerField


class SinceQuerySerializer(serializers.Serializer):
    cursor = IntegerField(min_value=0)
    limit = IntegerField(min_value=1, max_value=500, default=100)
    include_content = serializers.BooleanField(required=False, default=False)


class SyncEntrySerializer(serializers.Serializer):
    """One sync entry (for the schema; the view builds it directly)."""

    seq = serializers.IntegerField()
    operation = serializers.CharField()
    entity_id = serializers.UUIDField()
    timestamp = serializers.CharField()
    changed_by = serializers.JSONField(allow_null=True)
    device_id = serializers.CharField(allow_null=True)
    changes = serializers.JSONField()
    data = serializers.JSONField()
    content_hash = serializers.CharField(allow_null=True)
    content = serializers.CharField(required=False)


class SincePageSerializer(serializers.Serializer):
    documents = SyncEntrySerializer(many=True)
    folders = SyncEntrySerializer(many=True)
    comments = SyncEntrySerializer(many=True)
    attachments = SyncEntrySerializer(many=True)
    context_files = SyncEntrySerializer(many=True)
    members = SyncEntrySerializer(many=True)
    workspace = SyncEntrySerializer(many=True)
    cursor = serializers.IntegerField()
    has_more = serializers.BooleanField()
    timestamp = serializers.CharField()


class ChangeSerializer(serializers.Serializer):
    """One pushed change (SPEC §4); faults of its `data` become that change's error, not the envelope's."""

    change_id = serializers.UUIDField()
    entity_type = serializers.ChoiceField(choices=["document", "folder", "comment"])
    # A malformed entity id or data is that change's error (push_one), not the envelope's.
    entity_id = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    operation = serializers.ChoiceField(choices=["create", "update", "delete"])
    base_content_hash = serializers.CharField(required=False, allow_null=True, max_length=64, default=None)
    data = serializers.JSONField(required=False, default=dict)


class PushSerializer(serializers.Serializer):
    device_id = serializers.CharField(required=False, allow_null=True, max_length=255, default=None)
    client_version = serializers.CharField(required=False, allow_null=True, max_length=50, default=None)
    changes = ChangeSerializer(many=True, max_length=100, allow_empty=True)


class PushResultSerializer(serializers.Serializer):
    change_id = serializers.UUIDField()
    entity_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["success", "conflict", "error"])
    result = serializers.JSONField(required=False)
    server_version = serializers.JSONField(required=False)
    error = serializers.JSONField(required=False)


class PushResponseSerializer(serializers.Serializer):
    results = PushResultSerializer(many=True)
