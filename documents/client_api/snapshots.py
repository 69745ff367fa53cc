"""The existing client's version history, which it calls snapshots (SPEC §3.9), over document versions.

`documents/{id}/snapshots[/{sid}[/download|/restore]]`: a snapshot is a `DocumentVersion`, `{sid}`
its id. Same abilities as the version endpoints (§3.3): reading needs `list_versions` /
`retrieve_version`, saving `create_version`, overwriting `restore_version`; restoring as a new
document also needs `create_document` in the workspace. The singular `documents/{id}/snapshot`
(the live Yjs state) is served by `collab.client_api`: merging a Yjs update is collab's.
"""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.text import slugify
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from documents import selectors
from documents.models import Document, DocumentVersion
from documents.permissions import DocumentAbility, check_ability, workspace_for
from documents.serializers import TitleField
from documents.services import restore
from documents.services.snapshots import snapshot_copy_as_document, snapshot_html, snapshot_save_point
from mdcreator.errors import PermissionDeniedError
from mdcreator.fields import StrictCharField, TimestampField
from mdcreator.pagination import page_from
from mdcreator.timestamps import utc_timestamp
from mdcreator.validation import query_params, validated
from workspaces.abilities import Source

# The client's automatic save point, posted after each push of its state; `manual` and `restore-backup` add
# a manual version. A snapshot's `type` is its version's source (`auto`, `manual`, `restore`).
AUTOMATIC = "auto"


class SnapshotSerializer(serializers.Serializer):
    """The client's `Snapshot`, plus the version's own number, title and source."""

    id = serializers.UUIDField()
    document_id = serializers.UUIDField()
    version_number = serializers.IntegerField()
    title = serializers.CharField()
    created_by = serializers.UUIDField(source="created_by_id", allow_null=True)
    created_at = TimestampField()
    type = serializers.CharField(source="source")
    note = serializers.SerializerMethodField()
    size_bytes = serializers.IntegerField()
    html_preview = serializers.SerializerMethodField()
    html_preview_truncated = serializers.SerializerMethodField()

    def get_note(self, version) -> str | None:
        return version.change_description or None

    def get_html_preview(self, version) -> str:
        text = getattr(version, "preview_text", None)
        return snapshot_html(document_type=self.context["type"], content=version.content if text is None else text)

    def get_html_preview_truncated(self, version) -> bool:
        return getattr(version, "content_chars", 0) > selectors.SNAPSHOT_PREVIEW_CHARS


class SnapshotCreateSerializer(serializers.Serializer):
    """The client's save point; its Yjs state and HTML are not read (the server's own content is saved)."""

    note = StrictCharField(required=False, allow_null=True, allow_blank=True, max_length=1000, default=None)
    type = serializers.ChoiceField(choices=["manual", AUTOMATIC, "restore-backup"], required=False, default="manual")


class SnapshotRestoreSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["overwrite", "new_document"], required=False, default="new_document")
    title = TitleField(required=False, allow_null=True, default=None)


LISTED = inline_serializer("SnapshotList", {
    "snapshots": SnapshotSerializer(many=True), "total": serializers.IntegerField(),
    "limit": serializers.IntegerField(), "offset": serializers.IntegerField(),
})
SAVED = inline_serializer("SnapshotSaved", {
    "success": serializers.BooleanField(), "snapshot_id": serializers.UUIDField(allow_null=True),
    "created_at": TimestampField(allow_null=True), "size_bytes": serializers.IntegerField(),
    "version_number": serializers.IntegerField(allow_null=True),
})
RESTORED = inline_serializer("SnapshotRestored", {
    "success": serializers.BooleanField(), "action": serializers.CharField(),
    "new_document_id": serializers.UUIDField(allow_null=True), "message": serializers.CharField(),
})


def _document(view, pk, action: str) -> Document:
    """The document once the caller may take `action` on it (404 unseen, 403 otherwise)."""
    document = selectors.document_get(user=view.request.user, document_id=pk, summary=False)
    check_ability(view, document, action)
    return document


def _snapshot(document: Document, version: DocumentVersion) -> dict:
    return SnapshotSerializer(version, context={"type": document.type}).data


class SnapshotsView(APIView):
    """`documents/{id}/snapshots`: the version list (GET) and a save point (POST)."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(tags=["client"], parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
                   responses=LISTED, operation_id="client_document_snapshots_list")
    def get(self, request, pk):
        document = _document(self, pk, "list_versions")
        page = page_from(query_params(request), max_limit=100, default_limit=50)
        rows = selectors.snapshot_list(document=document)
        snapshots = SnapshotSerializer(page.slice(rows), many=True, context={"type": document.type}).data
        return Response({"snapshots": snapshots, "total": rows.count(), "limit": page.limit, "offset": page.offset})

    @extend_schema(tags=["client"], request=SnapshotCreateSerializer, responses={201: SAVED, 200: SAVED})
    def post(self, request, pk):
        document = _document(self, pk, "create_version")
        data = validated(SnapshotCreateSerializer, request.data)
        version, created = snapshot_save_point(
            document=document, actor=request.user, automatic=data["type"] == AUTOMATIC, note=data["note"] or ""
        )
        body = {"success": True, "snapshot_id": None, "created_at": None, "size_bytes": 0, "version_number": None}
        if version is not None:
            body.update(snapshot_id=str(version.pk), created_at=utc_timestamp(version.created_at),
                        size_bytes=version.size_bytes, version_number=version.version_number)
        return Response(body, status=201 if created else 200)


class SnapshotView(APIView):
    """`documents/{id}/snapshots/{sid}`: one version with the HTML of its whole content."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(tags=["client"], responses=SnapshotSerializer, operation_id="client_document_snapshot_retrieve")
    def get(self, request, pk, sid):
        document = _document(self, pk, "retrieve_version")
        return Response(_snapshot(document, selectors.version_get_by_id(document=document, version_id=sid)))


class SnapshotDownloadView(APIView):
    """`documents/{id}/snapshots/{sid}/download`: the version's content as a file (markdown, or JSON)."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(tags=["client"], responses={200: OpenApiResponse(description="The version's content")})
    def get(self, request, pk, sid):
        document = _document(self, pk, "retrieve_version")
        version = selectors.version_get_by_id(document=document, version_id=sid)
        is_markdown = document.type == Document.Type.MARKDOWN
        name = f"{slugify(version.title) or 'document'}-v{version.version_number}.{'md' if is_markdown else 'json'}"
        response = HttpResponse(
            version.content.encode("utf-8"),
            content_type="text/markdown; charset=utf-8" if is_markdown else "application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class SnapshotRestoreView(APIView):
    """`documents/{id}/snapshots/{sid}/restore {action, title}`: overwrite (the SPEC restore) or a new document."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(tags=["client"], request=SnapshotRestoreSerializer, responses={200: RESTORED, 201: RESTORED})
    def post(self, request, pk, sid):
        document = _document(self, pk, "retrieve_version")
        data = validated(SnapshotRestoreSerializer, request.data)
        version = selectors.version_get_by_id(document=document, version_id=sid)
        if data["action"] == "overwrite":
            check_ability(self, document, "restore_version")
            restore.version_restore(actor=request.user, document=document, version_number=version.version_number)
            message = f"The document now holds version {version.version_number} again."
            return Response({"success": True, "action": "overwrite", "new_document_id": None, "message": message})
        if document.access.source != Source.MEMBER:
            raise PermissionDeniedError("Only workspace members can restore a version as a new document.")
        workspace = workspace_for(self, document.workspace_id, "create_document")
        created = snapshot_copy_as_document(
            actor=request.user, workspace=workspace, source=document, version=version, title=data["title"]
        )
        message = f"Version {version.version_number} was restored as a new document."
        body = {"success": True, "action": "new_document", "new_document_id": str(created.pk), "message": message}
        return Response(body, status=201, headers={"Location": f"/api/v1/documents/{created.pk}"})
