"""The existing web client's document paths (SPEC §3.9): `POST documents?workspace_id=` and
`GET documents/workspace/{wid}`, thin views over the documents services and selectors.

The client's `PATCH documents/{id}` (with `expected_yjs_version` or `yjs_state_b64`) is the SPEC
path's: documents.views handles it.
"""

from __future__ import annotations

from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from documents import selectors
from documents import serializers as s
from documents.etags import etag
from documents.models import Document
from documents.permissions import DocumentAbility, workspace_for
from documents.services import client_sync, documents
from mdcreator.fields import IntegerField, StrictBooleanField
from mdcreator.validation import query_params, validated
from workspaces.abilities import Kind
from workspaces.access import access_from_membership

# The client's names for a document's type; its plain `text` is markdown without markup.
CONTENT_TYPES = {"markdown": Document.Type.MARKDOWN, "text": Document.Type.MARKDOWN,
                 "mindmap": Document.Type.MINDMAP, "presentation": Document.Type.PRESENTATION}


class WorkspaceQuerySerializer(serializers.Serializer):
    """`?workspace_id=`: the workspace a client path creates in."""

    workspace_id = serializers.UUIDField()


def workspace_from_query(view, action: str):
    """`workspace_for` the `?workspace_id=` of the request (400 when missing or malformed)."""
    return workspace_for(view, validated(WorkspaceQuerySerializer, query_params(view.request))["workspace_id"], action)


class ClientDocumentCreateSerializer(s.DocumentCreateSerializer):
    """The client's create body: `content_type` for `type`, a star for the creator, optionally its Yjs state."""

    type = None
    content_type = serializers.ChoiceField(choices=sorted(CONTENT_TYPES), default="markdown")
    tags = s.TagListField(required=False, allow_null=True)
    is_starred = StrictBooleanField(required=False, allow_null=True, default=False)
    yjs_state_b64 = s.YjsStateField(required=False)

    def validate(self, attrs: dict) -> dict:
        attrs["type"] = CONTENT_TYPES[attrs.pop("content_type")]
        if attrs.get("tags") is None:
            attrs.pop("tags", None)  # null is no tags; `metadata.tags` may still stand in (SPEC §3.3)
        return attrs


class ClientDocumentSerializer(s.DocumentSerializer):
    """A list item: the Document body (aliases included) and the live state's version (0 before it has one)."""

    yjs_version = serializers.IntegerField()


class ClientDocumentListQuerySerializer(serializers.Serializer):
    """FastAPI-style paging; without `limit` the whole workspace (the client sends none and drops what is missing)."""

    skip = IntegerField(min_value=0, max_value=2**31 - 1, default=0)
    limit = IntegerField(min_value=1, max_value=1000, required=False)


class ClientDocumentsView(APIView):
    """`POST documents?workspace_id=`: `POST workspaces/{wid}/documents` in the client's words."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(
        tags=["client"], parameters=[WorkspaceQuerySerializer], request=ClientDocumentCreateSerializer,
        responses={201: s.DocumentDetailSerializer},
    )
    def post(self, request):
        workspace = workspace_from_query(self, "create_document")
        data = validated(ClientDocumentCreateSerializer, request.data)
        starred, update = bool(data.pop("is_starred", False)), data.pop("yjs_state_b64", None)
        created = client_sync.document_create_from_client(
            actor=request.user, workspace=workspace, data=data, starred=starred, yjs_update=update
        )
        document = selectors.document_get(user=request.user, document_id=created.pk)
        body = {**s.DocumentSerializer(document).data, **documents.document_live_state(document)}
        response = Response(body, status=201, headers={"Location": f"/api/v1/documents/{document.pk}"})
        response["ETag"] = etag(document.content_hash)
        return response


def _workspace_documents(workspace, user) -> QuerySet[Document]:
    """The workspace's live documents with their Document fields and live state version, newest change first."""
    documents_of = Document.objects.filter(workspace=workspace, deleted=False)
    return (
        selectors.with_summary_fields(documents_of, user=user)
        .annotate(yjs_version=Coalesce(F("collab_state__last_seq"), 0))
        .order_by("-updated_at", "-pk")
    )


class ClientWorkspaceDocumentsView(APIView):
    """`GET documents/workspace/{wid}`: the workspace's documents with their content, as `{items, total}`."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(
        tags=["client"], parameters=[ClientDocumentListQuerySerializer],
        responses=inline_serializer(
            "ClientDocumentList", {"items": ClientDocumentSerializer(many=True), "total": serializers.IntegerField()}
        ),
    )
    def get(self, request, wid):
        workspace = workspace_for(self, wid, "list_documents")
        query = validated(ClientDocumentListQuerySerializer, query_params(request))
        documents_of = _workspace_documents(workspace, request.user)
        if "limit" in query or query["skip"]:
            end = query["skip"] + query["limit"] if "limit" in query else None
            total, rows = documents_of.count(), list(documents_of[query["skip"] : end])
        else:
            rows = list(documents_of)
            total = len(rows)
        # A member's access to each document is the membership's: one Access for the whole list.
        access = access_from_membership(workspace.access.member, Kind.DOCUMENT)
        for row in rows:
            row.access = access
        return Response({"items": ClientDocumentSerializer(rows, many=True).data, "total": total})
