"""Document grants and shared-with-me (SPEC §3.3, §3.4): parse, call a selector or service, serialize."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

from documents import selectors
from documents import serializers as s
from documents.models import DocumentShare
from documents.permissions import DocumentAbility, check_ability
from documents.services import links, shares
from documents.sharing import share_link_url
from mdcreator.errors import ValidationProblem
from mdcreator.ratelimit import client_ip
from mdcreator.validation import query_params, validated
from workspaces.serializers import InvitationSerializer

NO_CONTENT = {204: OpenApiResponse(description="Done")}
EDIT_LINKS_REFUSED = (
    "Share links open a document for viewing or commenting only; "
    "to let someone edit, share the document with them as an editor."
)
SHARES = inline_serializer(
    "DocumentShares", {"shares": s.ShareSerializer(many=True), "pending_invitations": InvitationSerializer(many=True)}
)

class DocumentSharesViewSet(ViewSet):
    """`documents/{id}/shares`: the grants of one document, for those who may manage them (flag invite)."""

    permission_classes = [IsAuthenticated, DocumentAbility]

    def get_document(self):
        """The document, once the caller may manage its grants (404 unseen, 403 otherwise)."""
        document = selectors.document_get(user=self.request.user, document_id=self.kwargs["pk"], summary=False)
        check_ability(self, document, "share")
        return document

    @extend_schema(tags=["sharing"], responses=SHARES)
    def list(self, request, pk=None):
        document = self.get_document()
        return Response(
            {
                "shares": s.ShareSerializer(selectors.share_list(document=document), many=True).data,
                "pending_invitations": InvitationSerializer(
                    selectors.pending_document_invitations(document=document), many=True
                ).data,
            }
        )

    @extend_schema(tags=["sharing"], request=s.ShareCreateSerializer, responses={201: s.ShareSerializer})
    def create(self, request, pk=None):
        document = self.get_document()
        data = validated(s.ShareCreateSerializer, request.data)
        made = shares.share_create(actor=request.user, document=document, **data)
        if isinstance(made, DocumentShare):  # the service returns it with the people it names
            return Response(s.ShareSerializer(made).data, status=status.HTTP_201_CREATED)
        return Response(InvitationSerializer(made).data, status=status.HTTP_201_CREATED)

    @extend_schema(tags=["sharing"], request=s.ShareUpdateSerializer, responses=s.ShareSerializer)
    def partial_update(self, request, pk=None, share_id=None):
        document = self.get_document()
        share = selectors.share_get(document=document, share_id=share_id)
        data = validated(s.ShareUpdateSerializer, request.data)
        return Response(s.ShareSerializer(shares.share_update(share=share, **data)).data)

    @extend_schema(tags=["sharing"], responses=NO_CONTENT)
    def destroy(self, request, pk=None, share_id=None):
        document = self.get_document()
        shares.share_revoke(share=selectors.share_get(document=document, share_id=share_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

class DocumentLinksViewSet(ViewSet):
    """`documents/{id}/share-links`: the links of one document, for those who may manage them (flag invite)."""

    permission_classes = [IsAuthenticated, DocumentAbility]
    get_document = DocumentSharesViewSet.get_document

    @extend_schema(tags=["sharing"], responses=inline_serializer("ShareLinks", {"links": s.ShareLinkSerializer(many=True)}))
    def list(self, request, pk=None):
        document = self.get_document()
        return Response({"links": s.ShareLinkSerializer(selectors.link_list(document=document), many=True).data})

    @extend_schema(tags=["sharing"], request=s.ShareLinkCreateSerializer, responses={201: s.ShareLinkCreatedSerializer})
    def create(self, request, pk=None):
        document = self.get_document()
        if isinstance(request.data, dict) and request.data.get("mode") == "edit":  # the client offers it
            raise ValidationProblem({"mode": [EDIT_LINKS_REFUSED]}, detail=EDIT_LINKS_REFUSED)
        data = validated(s.ShareLinkCreateSerializer, request.data)
        link, token = links.link_create(actor=request.user, document=document, **data)
        body = {**s.ShareLinkSerializer(link).data, "token": token}
        return Response({**body, "url": share_link_url(token)}, status=status.HTTP_201_CREATED)

    @extend_schema(tags=["sharing"], responses=NO_CONTENT)
    def destroy(self, request, pk=None, link_id=None):
        document = self.get_document()
        links.link_revoke(link=selectors.link_get(document=document, link_id=link_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShareLinkResolveView(APIView):
    """`share-links/resolve` (public): open a link; counts one use and hands out the session token."""

    authentication_classes: list = []  # public: a stale Authorization header is ignored, not refused
    permission_classes = [AllowAny]

    @extend_schema(tags=["sharing"], request=s.ShareLinkResolveSerializer, responses=s.ShareLinkResolvedSerializer)
    def post(self, request):
        data = validated(s.ShareLinkResolveSerializer, request.data)
        link, session = links.link_resolve(token=data["token"], password=data["password"], client_key=client_ip(request))
        document = selectors.document_summary(document_id=link.document_id, user=request.user)
        return Response(
            {
                "valid": True,
                "document_id": str(link.document_id),
                "mode": link.mode,
                "document": s.DocumentSummarySerializer(document).data,
                "share_token": session,
            }
        )


class SharedWithMeViewSet(ViewSet):
    """`documents/shared-with-me`: documents granted to the caller, newest grant first."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["sharing"], parameters=[s.SharedWithMeQuerySerializer], responses=s.SharedWithMeSerializer
    )
    def list(self, request):
        query = validated(s.SharedWithMeQuerySerializer, query_params(request))
        rows, cursor, has_more = selectors.shared_with_me(
            user=request.user, limit=query["limit"], cursor=query.get("cursor")
        )
        return Response(
            {"documents": rows, "cursor": cursor, "has_more": has_more}
        )
