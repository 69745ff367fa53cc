"""Documents, versions, folders and search (SPEC §3.3): parse, call a selector or service, serialize."""

from __future__ import annotations

from django.db.models import Q
from django.http import HttpResponseNotModified
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

from documents import selectors
from documents import serializers as s
from documents.etags import etag, etag_matches
from documents.models import Document
from documents.permissions import DocumentAbility, SignedInOrShareToken, check_ability, share_token, workspace_for
from documents.search import ranking_cache_key, search_documents
from documents.services import client_sync, documents, folders, restore, versions
from mdcreator.errors import NotFoundError, ValidationProblem
from mdcreator.pagination import page_from
from mdcreator.validation import ascii_digits, query_params, validated

NO_CONTENT = {204: OpenApiResponse(description="Done")}
IF_MATCH = OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, description="ETag last seen, or *")


def document_response(document: Document, *, status_code: int = 200, headers: dict | None = None) -> Response:
    """A Document body (`access` from the resolver) with its ETag."""
    response = Response(s.DocumentSerializer(document).data, status=status_code, headers=headers)
    response["ETag"] = etag(document.content_hash)
    return response


class WorkspaceDocumentsView(APIView):
    """`workspaces/{wid}/documents`: list (with filters, sorts and the trash) and create."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(tags=["documents"], parameters=[s.DocumentListQuerySerializer], responses=s.DocumentListSerializer)
    def get(self, request, wid):
        workspace = workspace_for(self, wid, "list_documents")
        query = validated(s.DocumentListQuerySerializer, query_params(request))
        if query["deleted"]:
            check_ability(self, workspace, "list_trash")
        filters = selectors.ListFilters(
            limit=query["limit"],
            cursor=query.get("cursor"),
            type=query.get("type"),
            tags=tuple(tag.strip() for tag in query.get("tags", "").split(",") if tag.strip()),
            folder_id=query.get("folder_id"),
            starred=query["starred"],
            search=query.get("search"),
            sort=query["sort"],
            order=query["order"],
            deleted=query["deleted"],
        )
        rows, cursor, has_more, total = selectors.document_list(user=request.user, workspace=workspace, filters=filters)
        body = {"documents": rows, "cursor": cursor, "has_more": has_more}
        return Response({**body, "total": total})

    @extend_schema(tags=["documents"], request=s.DocumentCreateSerializer, responses={201: s.DocumentSerializer})
    def post(self, request, wid):
        workspace = workspace_for(self, wid, "create_document")
        data = validated(s.DocumentCreateSerializer, request.data)
        created = documents.document_create(actor=request.user, workspace=workspace, data=data)
        document = selectors.document_get(user=request.user, document_id=created.pk)
        location = f"/api/v1/documents/{document.pk}"
        return document_response(document, status_code=201, headers={"Location": location})


class DocumentViewSet(ViewSet):
    """One document: read, write with preconditions, trash, stars, versions."""

    permission_classes = [SignedInOrShareToken, DocumentAbility]

    def get_object(self, *, include_deleted: bool = False) -> Document:
        """The document, once the view's action is among the caller's abilities (404 / 403 otherwise)."""
        document = selectors.document_get(
            user=self.request.user, document_id=self.kwargs["pk"], include_deleted=include_deleted,
            share_token=share_token(self.request),
        )
        self.check_object_permissions(self.request, document)
        return document

    def _fresh(self, document_id, *, status_code: int = 200):
        document = selectors.document_get(user=self.request.user, document_id=document_id)
        return document_response(document, status_code=status_code)

    @extend_schema(
        tags=["documents"],
        responses={200: s.DocumentDetailSerializer, 304: OpenApiResponse(description="Not modified")},
    )
    def retrieve(self, request, pk=None):
        document = self.get_object()
        if etag_matches(request.headers.get("If-None-Match"), document.content_hash):
            response = HttpResponseNotModified()
            response["ETag"] = etag(document.content_hash)
            return response
        if request.user.is_authenticated:  # a link's anonymous readers are not counted
            documents.document_record_view(document=document, user=request.user)
        response = document_response(document)
        response.data.update(documents.document_live_state(document))
        return response

    @extend_schema(
        tags=["documents"], parameters=[IF_MATCH], request=s.DocumentWriteSerializer, responses=s.DocumentSerializer
    )
    def update(self, request, pk=None):
        document = self.get_object()
        data = validated(s.DocumentWriteSerializer, request.data)
        return self._write(document, data)

    @extend_schema(
        tags=["documents"], parameters=[IF_MATCH], request=s.DocumentWriteSerializer, responses=s.DocumentSerializer
    )
    def partial_update(self, request, pk=None):
        # Access is checked before the body is validated (403/404 first); the fields sent pick the ability.
        sent = set(request.data) & set(s.DocumentWriteSerializer().fields) if isinstance(request.data, dict) else set()
        if sent <= {"is_starred"}:
            self.action = "star"
        document = self.get_object()
        data = validated(s.DocumentWriteSerializer, request.data, partial=True)
        return self._write(document, data)

    def _write(self, document, data: dict):
        starred = data.pop("is_starred", None)
        # The existing client's dialect (SPEC §3.9): the state version it saw instead of If-Match, its Yjs state.
        expected, update = data.pop("expected_yjs_version", None), data.pop("yjs_state_b64", None)
        in_client_dialect = expected is not None or update is not None
        if_match = self.request.headers.get("If-Match")
        if in_client_dialect:
            client_sync.document_update_from_client(
                actor=self.request.user, document=document, data=data, if_match=if_match,
                expected_yjs_version=expected, yjs_update=update,
            )
        elif data:
            documents.document_update(actor=self.request.user, document=document, data=data, if_match=if_match)
        # Star only once the edit went through: a refused write (409, 412, 428, 400) changes nothing.
        if starred is not None:
            documents.document_star(document=document, user=self.request.user, starred=starred)
        response = self._fresh(document.pk)
        if in_client_dialect:  # the client keeps this state and version for its next push
            response.data.update(documents.document_live_state(document))
        return response

    @extend_schema(tags=["documents"], responses=NO_CONTENT)
    def destroy(self, request, pk=None):
        document = self.get_object()
        documents.document_delete(actor=request.user, document=document)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["documents"], request=None, responses=s.DocumentSerializer)
    def undelete(self, request, pk=None):
        document = self.get_object(include_deleted=True)
        documents.document_undelete(actor=request.user, document=document)
        return self._fresh(document.pk)

    @extend_schema(tags=["documents"], request=None, responses=s.StarSerializer)
    def star(self, request, pk=None):
        document = self.get_object()
        starred = documents.document_star(document=document, user=request.user, starred=request.method == "POST")
        return Response({"is_starred": starred})

    @extend_schema(
        tags=["versions"],
        operation_id="documents_versions_list",  # not "_retrieve", the id of GET versions/{number}
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int), s.VersionSourceQuerySerializer],
        responses=s.VersionListSerializer,
    )
    def list_versions(self, request, pk=None):
        document = self.get_object()
        params = query_params(request)
        page = page_from(params, max_limit=100, default_limit=20)
        source = validated(s.VersionSourceQuerySerializer, params).get("source")
        rows = selectors.version_list(document=document, source=source)
        return Response(
            {"versions": s.VersionSummarySerializer(page.slice(rows), many=True).data, "total": rows.count()}
        )

    @extend_schema(tags=["versions"], request=s.VersionCreateSerializer, responses={201: s.VersionCreatedSerializer})
    def create_version(self, request, pk=None):
        document = self.get_object()
        data = validated(s.VersionCreateSerializer, request.data)
        version = versions.version_create_manual(
            document=document,
            actor=request.user,
            tags=documents.document_tags(document),
            description=data["change_description"],
        )
        return Response({"version_id": version.pk, "version_number": version.version_number}, status=201)

    @extend_schema(tags=["versions"], responses=s.VersionSerializer)
    def retrieve_version(self, request, pk=None, number=None):
        document = self.get_object()
        version = selectors.version_get(document=document, number=_version_number(number))
        return Response(s.VersionSerializer(version).data)

    @extend_schema(
        tags=["versions"],
        parameters=[OpenApiParameter("from", int, required=True), s.DiffQuerySerializer],
        responses=s.DiffSerializer,
    )
    def diff(self, request, pk=None):
        document = self.get_object()
        params = query_params(request)
        query = validated(s.DiffQuerySerializer, params)
        number = ascii_digits(params.get("from", ""))
        if number is None or number < 1:
            raise ValidationProblem({"from": ["A version number is required."]})
        old = selectors.version_get(document=document, number=number)
        if query["to"] == "current":
            new_text, to_label = document.content, "current"
        else:
            new_text, to_label = selectors.version_get(document=document, number=query["to"]).content, query["to"]
        return Response(
            {
                "from": old.version_number,
                "to": to_label,
                "unified_diff": versions.unified_diff(
                    old.content,
                    new_text,
                    from_label=f"v{old.version_number}",
                    to_label=str(to_label if to_label == "current" else f"v{to_label}"),
                    context=query["context"],
                ),
                "changes_summary": versions.changes_summary(old.content, new_text),
            }
        )

    @extend_schema(tags=["versions"], request=s.RestoreSerializer, responses=s.RestoredSerializer)
    def restore_version(self, request, pk=None):
        document = self.get_object()
        data = validated(s.RestoreSerializer, request.data)
        restored = restore.version_restore(actor=request.user, document=document, version_number=data["version_number"])
        number = restored.versions.order_by("-version_number").values_list("version_number", flat=True).first()
        response = Response({"new_version_number": number, "content_hash": restored.content_hash})
        response["ETag"] = etag(restored.content_hash)
        return response


def _version_number(raw) -> int:
    """A version number from the path: anything but ASCII digits is an unknown version (SPEC §0)."""
    number = ascii_digits(raw)
    if number is None:
        raise NotFoundError()
    return number


class WorkspaceFoldersView(APIView):
    """`workspaces/{wid}/folders`: the folder list (or tree) and folder creation."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(
        tags=["folders"], parameters=[OpenApiParameter("tree", bool)], responses=s.FolderSerializer(many=True)
    )
    def get(self, request, wid):
        workspace = workspace_for(self, wid, "list_folders")
        rows = selectors.folder_list(workspace=workspace)
        tree = query_params(request).get("tree", "false").lower()
        if tree not in ("true", "false", "1", "0"):
            raise ValidationProblem({"tree": ["Must be true or false."]})
        if tree in ("true", "1"):
            return Response({"folders": _as_tree(rows)})
        return Response({"folders": s.FolderSerializer(rows, many=True).data})

    @extend_schema(tags=["folders"], request=s.FolderWriteSerializer, responses={201: s.FolderSerializer})
    def post(self, request, wid):
        workspace = workspace_for(self, wid, "create_folder")
        data = validated(s.FolderWriteSerializer, request.data)
        folder = folders.folder_create(actor=request.user, workspace=workspace, data=data)
        return Response(s.FolderSerializer(folder).data, status=201)


def _as_tree(rows) -> list[dict]:
    nodes = {}
    for folder in rows:
        nodes[folder.pk] = {**s.FolderSerializer(folder).data, "document_count": folder.document_count, "children": []}
    roots = []
    for folder in rows:
        parent = nodes.get(folder.parent_id)
        (parent["children"] if parent else roots).append(nodes[folder.pk])
    return roots


class FolderView(APIView):
    """`folders/{id}`: read (the existing client's, SPEC §3.9), update (rename, move) and delete (with or without
    cascade)."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    @extend_schema(tags=["folders"], responses=s.FolderSerializer)
    def get(self, request, pk):
        # Any member reads the workspace's folders (SPEC §2.3): being found is the permission.
        folder = selectors.folder_get(user=request.user, folder_id=pk)
        return Response(s.FolderSerializer(folder).data)

    @extend_schema(tags=["folders"], request=s.FolderWriteSerializer, responses=s.FolderSerializer)
    def patch(self, request, pk):
        folder = selectors.folder_get(user=request.user, folder_id=pk)
        check_ability(self, folder, "partial_update")
        data = validated(s.FolderWriteSerializer, request.data, partial=True)
        data.pop("id", None)
        folder = folders.folder_update(actor=request.user, folder=folder, data=data)
        return Response(s.FolderSerializer(folder).data)

    @extend_schema(tags=["folders"], parameters=[OpenApiParameter("cascade", bool)], responses=NO_CONTENT)
    def delete(self, request, pk):
        folder = selectors.folder_get(user=request.user, folder_id=pk)
        check_ability(self, folder, "destroy")
        cascade = query_params(request).get("cascade", "false").lower()
        if cascade not in ("true", "false", "1", "0"):
            raise ValidationProblem({"cascade": ["Must be true or false."]})
        folders.folder_delete(actor=request.user, folder=folder, cascade=cascade in ("true", "1"))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SearchView(APIView):
    """`search`: full-text search over every document the caller may read."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["search"], parameters=[s.SearchQuerySerializer], responses=s.SearchResponseSerializer)
    def get(self, request):
        query = validated(s.SearchQuerySerializer, query_params(request))
        # The ids as values, not a subquery: the planner then knows which workspaces it reads.
        readable, granted = selectors.search_scope(request.user)
        if query.get("workspace_id"):
            readable = {wid: seq for wid, seq in readable.items() if wid == query["workspace_id"]}
            granted = {pk: pair for pk, pair in granted.items() if pair[0] == query["workspace_id"]}
        in_scope = Q(workspace_id__in=sorted(readable))
        if granted:
            in_scope |= Q(pk__in=sorted(granted))
        scoped = Document.objects.filter(in_scope, deleted=False)
        if query.get("type"):
            scoped = scoped.filter(type=query["type"])
        # Every change to a document's title, content, tags or trash state moves its workspace's sync
        # seq (SPEC §4), so a ranking cached under the scope's seqs is exact for as long as it is found.
        scope = [sorted(readable.items()), query.get("type")]
        if granted:
            scope.append(sorted((str(pk), str(wid), seq) for pk, (wid, seq) in granted.items()))
        hits, total = search_documents(
            scoped,
            query["q"],
            limit=query["limit"],
            offset=query["offset"],
            summarize=lambda documents: selectors.with_summary_fields(documents, user=request.user),
            cache_key=ranking_cache_key(scope, query["q"]),
        )
        return Response({"results": s.SearchResultSerializer(hits, many=True).data, "total": total})
