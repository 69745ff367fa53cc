"""Input shapes of the sync endpoints (SPEC §3.7)."""

from __future__ import annotations

from rest_framework import serializers


class SinceQuerySerializer(serializers.Serializer):
    cursor = serializers.IntegerField(min_value=0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)
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
