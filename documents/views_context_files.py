"""Context files (SPEC §3.6, §7): parse, call a selector or service, serialize."""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import user_summary
from documents import selectors, storage
from documents.models import ContextFile
from documents.permissions import DocumentAbility, SignedInOrShareToken, check_ability, share_token
from documents.selectors_context_files import context_file_get, context_file_list
from documents.services import context_files
from mdcreator.errors import NotFoundError, PermissionDeniedError
from mdcreator.fields import IntegerField
from mdcreator.timestamps import utc_timestamp, utc_timestamp_or_none
from mdcreator.validation import validated

MAX_METADATA_BYTES = 16 * 1024
NO_CONTENT = {204: OpenApiResponse(description="Done")}
CONTEXT_FILE = inline_serializer("ContextFile", {"id": serializers.UUIDField(), "sync_status": serializers.CharField()})
CONTEXT_FILE_LIST = inline_serializer("ContextFileList", {"context_files": serializers.ListField(
    child=serializers.JSONField())})
CONTEXT_FILE_ADDED = inline_serializer("ContextFileAdded", {
    "context_file": serializers.JSONField(), "deduplicated": serializers.BooleanField(),
    "upload": serializers.JSONField(allow_null=True),
})


class ContextFileCreateSerializer(serializers.Serializer):
    file_name = serializers.CharField(max_length=500, trim_whitespace=False)
    file_type = serializers.CharField(max_length=20)  # an unknown type is a 415, from the service
    size_bytes = IntegerField(min_value=0)
    content_hash = serializers.RegexField(r"^[0-9a-f]{64}\Z", trim_whitespace=False, error_messages={
        "invalid": "The sha256 of the file's bytes, as 64 lowercase hex digits."})
    storage_mode = serializers.ChoiceField(choices=ContextFile.StorageMode.choices)
    metadata = serializers.DictField(required=False, default=dict)

    def validate_file_type(self, value: str) -> str:
        return value.strip().lstrip(".").lower()

    def validate_metadata(self, value: dict) -> dict:
        if len(json.dumps(value)) > MAX_METADATA_BYTES:
            raise serializers.ValidationError(f"At most {MAX_METADATA_BYTES} bytes of JSON.")
        return value


def context_file_payload(row: ContextFile) -> dict:
    """The ContextFile body of SPEC §3.6."""
    return {
        "id": str(row.pk),
        "document_id": str(row.document_id) if row.document_id else None,
        "file_name": row.file_name,
        "file_type": row.file_type,
        "size_bytes": row.size_bytes,
        "storage_mode": row.storage_mode,
        "content_hash": row.content_hash,
        "sync_status": row.sync_status,
        "metadata": row.metadata,
        "created_by": user_summary(row.created_by),
        "created_at": utc_timestamp(row.created_at),
        "last_synced_at": utc_timestamp_or_none(row.last_synced_at),
    }


def download_url(row: ContextFile) -> str | None:
    """A fresh 15-minute link to the stored bytes; None for local files and bytes not yet verified."""
    if row.sync_status != ContextFile.SyncStatus.SYNCED or not row.s3_key:
        return None
    return storage.backend().download_url(
        row.s3_key, file_name=row.file_name, content_type=context_files.CONTENT_TYPES[row.file_type],
        as_attachment=True,
    )


class DocumentContextFilesView(APIView):
    """`documents/{id}/context-files`: list the document's context files, or add one."""

    permission_classes = [SignedInOrShareToken, DocumentAbility]

    def document(self, action: str):
        document = selectors.document_get(
            user=self.request.user, document_id=self.kwargs["pk"], share_token=share_token(self.request),
            summary=False,
        )
        check_ability(self, document, action)
        return document

    @extend_schema(tags=["context files"], responses=CONTEXT_FILE_LIST)
    def get(self, request, pk=None):
        rows = context_file_list(document=self.document("list_context_files"))
        return Response({"context_files": [context_file_payload(row) for row in rows]})

    @extend_schema(tags=["context files"], request=ContextFileCreateSerializer, responses={201: CONTEXT_FILE_ADDED})
    def post(self, request, pk=None):
        document = self.document("add_context_file")
        data = validated(ContextFileCreateSerializer, request.data)
        row, deduplicated, upload = context_files.context_file_create(actor=request.user, document=document, **data)
        body = {"context_file": context_file_payload(row), "deduplicated": deduplicated, "upload": None}
        if upload is not None:
            body["upload"] = {"upload_url": upload.url, "upload_fields": upload.fields,
                              "expires_in": storage.UPLOAD_EXPIRES}
        return Response(body, status=status.HTTP_201_CREATED)


class ContextFileConfirmView(APIView):
    """`context-files/{id}/confirm`: the creator says the bytes are uploaded; the server verifies them."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["context files"], request=None, responses=CONTEXT_FILE)
    def post(self, request, pk=None):
        row = context_file_get(user=request.user, context_file_id=pk)
        if row.created_by_id != request.user.pk:
            raise NotFoundError("No context file with this id.")
        return Response(context_file_payload(context_files.context_file_confirm(actor=request.user, context_file=row)))


class ContextFileView(APIView):
    """`context-files/{id}`: read one (with a fresh download URL) or delete it."""

    permission_classes = [SignedInOrShareToken]

    def get_object(self) -> ContextFile:
        return context_file_get(user=self.request.user, context_file_id=self.kwargs["pk"],
                                share_token=share_token(self.request))

    @extend_schema(tags=["context files"], responses=CONTEXT_FILE)
    def get(self, request, pk=None):
        row = self.get_object()
        context_files.context_file_record_access(context_file=row)
        return Response({**context_file_payload(row), "download_url": download_url(row)})

    @extend_schema(tags=["context files"], responses=NO_CONTENT)
    def delete(self, request, pk=None):
        row = self.get_object()
        if not (row.access.can("delete_context_file") or (
            row.created_by_id == request.user.pk and row.access.can("delete_own_context_file")
        )):
            raise PermissionDeniedError("Only the person who added it or an admin may delete this context file.")
        context_files.context_file_delete(actor=request.user, context_file=row)
        return Response(status=status.HTTP_204_NO_CONTENT)
