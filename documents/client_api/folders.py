"""The existing web client's folder paths (SPEC §3.9): `POST folders?workspace_id=`, `GET folders/workspace/{wid}`
and `POST folders/{id}/move`, thin views over the folder services and selectors.

`GET folders/{id}` is the SPEC path's (documents.views.FolderView), beside its PATCH and DELETE.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from documents import selectors
from documents import serializers as s
from documents.client_api.documents import WorkspaceQuerySerializer, workspace_from_query
from documents.permissions import DocumentAbility, check_ability, workspace_for
from documents.services import folders
from mdcreator.fields import IntegerField, StrictUUIDField
from mdcreator.validation import query_params, validated


class ClientFolderListQuerySerializer(serializers.Serializer):
    """`?parent_id=`: absent for every folder, empty (or `null`) for the root folders, an id for its children."""

    parent_id = serializers.CharField(required=False, allow_blank=True, max_length=64)

    def validate_parent_id(self, value: str):
        if value in ("", "null"):
            return None
        return serializers.UUIDField().run_validation(value)


class ClientFolderMoveSerializer(serializers.Serializer):
    """`{parent_id, position?}`: null parent is the workspace's root."""

    parent_id = StrictUUIDField(allow_null=True)
    position = IntegerField(required=False, min_value=-(2**31), max_value=2**31 - 1)


class ClientFoldersView(APIView):
    """`POST folders?workspace_id=`: `POST workspaces/{wid}/folders` in the client's words."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(
        tags=["client"], parameters=[WorkspaceQuerySerializer], request=s.FolderWriteSerializer,
        responses={201: s.FolderSerializer},
    )
    def post(self, request):
        workspace = workspace_from_query(self, "create_folder")
        data = validated(s.FolderWriteSerializer, request.data)
        folder = folders.folder_create(actor=request.user, workspace=workspace, data=data)
        return Response(s.FolderSerializer(folder).data, status=201)


class ClientWorkspaceFoldersView(APIView):
    """`GET folders/workspace/{wid}`: the workspace's live folders, flat, as `{items, total}`."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(
        tags=["client"],
        parameters=[OpenApiParameter("parent_id", str, description="Empty: root folders only")],
        responses=inline_serializer(
            "ClientFolderList", {"items": s.FolderSerializer(many=True), "total": serializers.IntegerField()}
        ),
    )
    def get(self, request, wid):
        workspace = workspace_for(self, wid, "list_folders")
        query = validated(ClientFolderListQuerySerializer, query_params(request))
        rows = selectors.folder_list(workspace=workspace)
        if "parent_id" in query:  # the whole list is read anyway (the tree needs it); this is no page
            rows = [folder for folder in rows if folder.parent_id == query["parent_id"]]
        return Response({"items": s.FolderSerializer(rows, many=True).data, "total": len(rows)})


class ClientFolderMoveView(APIView):
    """`POST folders/{id}/move {parent_id, position}`: `PATCH folders/{id}` with those two fields."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(tags=["client"], request=ClientFolderMoveSerializer, responses=s.FolderSerializer)
    def post(self, request, pk):
        folder = selectors.folder_get(user=request.user, folder_id=pk)
        check_ability(self, folder, "partial_update")
        data = validated(ClientFolderMoveSerializer, request.data)
        folder = folders.folder_update(actor=request.user, folder=folder, data=data)
        return Response(s.FolderSerializer(folder).data)
