"""Uploads and attachments (SPEC §3.6, §7): parse, call a selector or service, serialize.

The local upload target and local downloads take no token: their signed path is the grant.
"""

from __future__ import annotations

from django.core import signing
from django.core.files.uploadhandler import StopUpload, TemporaryFileUploadHandler
from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.serializers import user_summary
from documents import selectors, storage
from documents.models import Attachment
from documents.permissions import DocumentAbility, SignedInOrShareToken, check_ability, share_token
from documents.selectors_attachments import attachment_get, attachment_list
from documents.services import attachments
from mdcreator.errors import (
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    UnsupportedMediaTypeError,
    ValidationProblem,
)
from mdcreator.fields import IntegerField
from mdcreator.pagination import MAX_OFFSET
from mdcreator.timestamps import utc_timestamp
from mdcreator.validation import query_params, validated
from workspaces.selectors import workspace_get

NO_CONTENT = {204: OpenApiResponse(description="Done")}
ATTACHMENT = inline_serializer("Attachment", {"id": serializers.UUIDField(), "download_url": serializers.CharField()})
PRESIGNED = inline_serializer("Presigned", {
    "attachment_id": serializers.UUIDField(), "upload_url": serializers.CharField(),
    "upload_fields": serializers.DictField(child=serializers.CharField()), "expires_in": serializers.IntegerField(),
})
CONFIRMED = inline_serializer("UploadConfirmed", {
    "attachment_id": serializers.UUIDField(), "processing_status": serializers.CharField(),
    "download_url": serializers.CharField(), "thumbnail_url": serializers.CharField(allow_null=True),
    "cdn_url": serializers.CharField(allow_null=True), "metadata": serializers.JSONField(),
})
ATTACHMENT_PAGE = inline_serializer("AttachmentPage", {
    "attachments": serializers.ListField(child=serializers.JSONField()), "total": serializers.IntegerField(),
})


class PresignSerializer(serializers.Serializer):
    file_name = serializers.CharField(max_length=500, trim_whitespace=False)
    content_type = serializers.CharField(max_length=100)
    size_bytes = IntegerField(min_value=0)
    scope = serializers.ChoiceField(choices=["attachment"], default="attachment")
    workspace_id = serializers.UUIDField()
    document_id = serializers.UUIDField(required=False, allow_null=True)


class PageSerializer(serializers.Serializer):
    limit = IntegerField(min_value=1, max_value=100, default=50)
    offset = IntegerField(min_value=0, max_value=MAX_OFFSET, default=0)


def attachment_payload(attachment: Attachment, store) -> dict:
    """The Attachment body of SPEC §3.6, with fresh download URLs (null until the upload is confirmed)."""
    complete = attachment.processing_status == Attachment.Status.COMPLETE
    download = thumbnail = None
    if complete:
        is_image = attachment.content_type.startswith("image/")
        download = store.download_url(
            attachment.s3_key, file_name=attachment.file_name, content_type=attachment.content_type,
            as_attachment=not is_image,
        )
        if attachment.thumbnail_s3_key:
            thumbnail = store.download_url(
                attachment.thumbnail_s3_key, file_name=f"{attachment.pk}.webp", content_type="image/webp",
                as_attachment=False,
            )
    return {
        "id": str(attachment.pk),
        "workspace_id": str(attachment.workspace_id),
        "document_id": str(attachment.document_id) if attachment.document_id else None,
        "file_name": attachment.file_name,
        "content_type": attachment.content_type,
        "size_bytes": attachment.size_bytes,
        "processing_status": attachment.processing_status,
        "metadata": attachment.metadata,
        "cdn_url": storage.signed_cdn_url(attachment.cdn_url) if complete else None,
        "download_url": download,
        "thumbnail_url": thumbnail,
        "uploaded_by": user_summary(attachment.uploaded_by),
        "uploaded_at": utc_timestamp(attachment.uploaded_at),
    }


class PresignView(APIView):
    """`uploads/presign`: reserve quota and hand out an upload form."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    def scope(self, data: dict):
        """The document (when named) or workspace the upload goes to, the caller's access checked."""
        if data.get("document_id"):
            target = selectors.document_get(user=self.request.user, document_id=data["document_id"], summary=False)
            if target.workspace_id != data["workspace_id"]:
                raise ValidationProblem({"document_id": ["This document is not in that workspace."]})
            workspace, document = target.workspace, target
        else:
            workspace, access = workspace_get(user=self.request.user, workspace_id=data["workspace_id"],
                                              with_counts=False)
            workspace.access, target, document = access, workspace, None
        check_ability(self, target, "upload_attachment")
        return workspace, document

    @extend_schema(tags=["attachments"], request=PresignSerializer, responses=PRESIGNED)
    def post(self, request):
        data = validated(PresignSerializer, request.data)
        workspace, document = self.scope(data)
        attachment, url, fields = attachments.attachment_presign(
            actor=request.user, workspace=workspace, document=document, file_name=data["file_name"],
            content_type=data["content_type"], size_bytes=data["size_bytes"],
        )
        return Response({"attachment_id": str(attachment.pk), "upload_url": url, "upload_fields": fields,
                         "expires_in": storage.UPLOAD_EXPIRES})


class ConfirmView(APIView):
    """`uploads/{id}/confirm`: the uploader says the object is there; the server verifies it."""

    @extend_schema(tags=["attachments"], request=None, responses=CONFIRMED)
    def post(self, request, pk=None):
        attachment = attachment_get(user=request.user, attachment_id=pk)
        if attachment.uploaded_by_id != request.user.pk:
            raise NotFoundError("No attachment with this id.")
        attachment = attachments.attachment_confirm(actor=request.user, attachment=attachment)
        body = attachment_payload(attachment, storage.backend())
        return Response({"attachment_id": body["id"], **{
            key: body[key] for key in ("processing_status", "download_url", "thumbnail_url", "cdn_url", "metadata")
        }})


class DocumentAttachmentsView(APIView):
    """`documents/{id}/attachments`: a page of the document's attachments."""

    permission_classes = [SignedInOrShareToken, DocumentAbility]

    @extend_schema(tags=["attachments"], parameters=[PageSerializer], responses=ATTACHMENT_PAGE)
    def get(self, request, pk=None):
        document = selectors.document_get(
            user=request.user, document_id=pk, share_token=share_token(request), summary=False
        )
        check_ability(self, document, "list_attachments")
        page = validated(PageSerializer, query_params(request))
        rows = attachment_list(document=document)
        store = storage.backend()
        found = rows[page["offset"] : page["offset"] + page["limit"]]
        return Response({"attachments": [attachment_payload(row, store) for row in found], "total": rows.count()})


class AttachmentView(APIView):
    """`attachments/{id}`: read one (fresh URLs) or delete it."""

    permission_classes = [SignedInOrShareToken]

    def get_object(self, action: str) -> Attachment:
        attachment = attachment_get(user=self.request.user, attachment_id=self.kwargs["pk"],
                                    share_token=share_token(self.request))
        access = attachment.access
        if action == "read":
            allowed = access.can("list_attachments" if attachment.document_id else "retrieve")
            if not allowed:
                raise NotFoundError("No attachment with this id.")
        elif not (access.can("delete_attachment") or (
            attachment.uploaded_by_id == self.request.user.pk and access.can("delete_own_attachment")
        )):
            raise PermissionDeniedError("Only the uploader or an admin may delete this attachment.")
        return attachment

    @extend_schema(tags=["attachments"], responses=ATTACHMENT)
    def get(self, request, pk=None):
        attachment = self.get_object("read")
        attachments.attachment_record_access(attachment=attachment)
        return Response(attachment_payload(attachment, storage.backend()))

    @extend_schema(tags=["attachments"], responses=NO_CONTENT)
    def delete(self, request, pk=None):
        attachments.attachment_delete(actor=request.user, attachment=self.get_object("delete"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class _CappedUploadHandler(TemporaryFileUploadHandler):
    """Streams file parts to a temporary file; stops reading once more than `limit` bytes arrived."""

    def __init__(self, request, limit: int) -> None:
        super().__init__(request)
        self.limit, self.received, self.exceeded = limit, 0, False

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.exceeded = True
            raise StopUpload(connection_reset=False)
        return super().receive_data_chunk(raw_data, start)


class LocalUploadView(APIView):
    """`uploads/local/{signed}`: the embedded store's stand-in for S3's POST upload."""

    authentication_classes = []
    permission_classes = [AllowAny]
    parser_classes = [MultiPartParser]

    @extend_schema(tags=["attachments"], request=None, responses=NO_CONTENT)
    def post(self, request, signed=None):
        try:
            grant = storage.local_upload_grant(signed)
        except signing.BadSignature:
            raise PermissionDeniedError("The upload URL is invalid or expired.") from None
        handler = _CappedUploadHandler(request._request, limit=grant["s"])
        request._request.upload_handlers = [handler]
        upload = request.FILES.get("file")
        if handler.exceeded:
            raise PayloadTooLargeError(f"This upload accepts exactly {grant['s']} bytes.")
        if request.data.get("key", grant["k"]) != grant["k"]:
            raise PermissionDeniedError("The form's key is not the one this URL was signed for.")
        if request.data.get("Content-Type", grant["t"]) != grant["t"]:
            raise UnsupportedMediaTypeError("The form's Content-Type is not the one this URL was signed for.")
        if upload is None:
            raise ValidationProblem({"file": ["A file part is required."]})
        if upload.size != grant["s"]:
            raise ValidationProblem({"file": [f"This upload accepts exactly {grant['s']} bytes."]})
        storage.LocalBackend().store_file(grant["k"], upload.temporary_file_path())
        return Response(status=status.HTTP_204_NO_CONTENT)


class LocalFileView(APIView):
    """`files/{signed}`: a local download; the signed value names the file, its name and type."""

    authentication_classes = []
    permission_classes = [AllowAny]

    @extend_schema(tags=["attachments"], responses={200: OpenApiResponse(description="The file's bytes")})
    def get(self, request, signed=None):
        try:
            grant = storage.local_download_grant(signed)
        except signing.BadSignature:
            raise PermissionDeniedError("The download URL is invalid or expired.") from None
        path = storage.LocalBackend().path(grant["k"])
        if not path.is_file():
            raise NotFoundError("The file no longer exists.")
        return FileResponse(path.open("rb"), as_attachment=grant["a"], filename=grant["n"], content_type=grant["t"])
