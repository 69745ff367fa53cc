"""Comments (SPEC §3.5): parse, call a selector or service, serialize.

Readers may send a share link's token as `X-Share-Token` (SPEC §3.4); it opens that one document.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from accounts.serializers import user_summary
from documents import selectors
from documents import serializers as s
from documents.permissions import CommentAbility, DocumentAbility, SignedInOrShareToken, check_ability, share_token
from documents.services import comments
from mdcreator.renderers import raw_json_response
from mdcreator.timestamps import utc_timestamp_or_none
from mdcreator.validation import query_params, validated

NO_CONTENT = {204: OpenApiResponse(description="Done")}
SHARE_TOKEN = OpenApiParameter("X-Share-Token", str, OpenApiParameter.HEADER, description="A share link's token")
REACTED = inline_serializer("Reacted", {"added": serializers.BooleanField(), "reactions": serializers.JSONField()})
RESOLVED = inline_serializer(
    "Resolved",
    {"resolved": serializers.BooleanField(), "resolved_by": serializers.JSONField(), "resolved_at": serializers.CharField()},
)


class DocumentCommentsViewSet(ViewSet):
    """`documents/{id}/comments`: the comments of one document, and new ones."""

    permission_classes = [SignedInOrShareToken, DocumentAbility]

    def get_document(self, action: str):
        document = selectors.document_get(
            user=self.request.user, document_id=self.kwargs["pk"], share_token=share_token(self.request), summary=False
        )
        check_ability(self, document, action)
        return document

    @extend_schema(tags=["comments"], parameters=[s.CommentListQuerySerializer, SHARE_TOKEN],
                   responses=s.CommentListSerializer)
    def list(self, request, pk=None):
        document = self.get_document("list_comments")
        query = validated(s.CommentListQuerySerializer, query_params(request))
        resolved, thread_id, offset, limit = query["resolved"], query.get("thread_id"), query["offset"], query["limit"]
        body = selectors.comment_list_json(
            document=document, resolved=resolved, thread_id=thread_id, offset=offset, limit=limit
        )
        if body is not None:  # PostgreSQL wrote the body: sent as it is rather than parsed and rendered again
            return raw_json_response(body)
        rows = selectors.comment_list(document=document, resolved=resolved, thread_id=thread_id)
        page = selectors.comment_rows(rows[offset : offset + limit])
        return Response({"comments": [s.comment_payload(row) for row in page], "total": rows.count()})

    @extend_schema(tags=["comments"], parameters=[SHARE_TOKEN], request=s.CommentCreateSerializer,
                   responses={201: s.CommentSerializer})
    def create(self, request, pk=None):
        document = self.get_document("comment")
        data = validated(s.CommentCreateSerializer, request.data)
        comment = comments.comment_create(actor=request.user, document=document, data=data)
        return Response(comment.body, status=status.HTTP_201_CREATED)


class CommentViewSet(ViewSet):
    """`comments/{id}`: read one comment with its replies, edit, delete, resolve, reopen, react."""

    permission_classes = [SignedInOrShareToken, CommentAbility]

    def get_object(self):
        comment = selectors.comment_get(
            user=self.request.user, comment_id=self.kwargs["pk"], share_token=share_token(self.request)
        )
        self.check_object_permissions(self.request, comment)
        return comment

    @extend_schema(tags=["comments"], parameters=[SHARE_TOKEN], responses=s.CommentDetailSerializer)
    def retrieve(self, request, pk=None):
        comment = self.get_object()
        replies = [s.comment_payload(row) for row in selectors.comment_rows(selectors.comment_replies(comment=comment))]
        return Response({**s.comment_body(comment.pk), "replies": replies})

    @extend_schema(tags=["comments"], parameters=[SHARE_TOKEN], request=s.CommentEditSerializer,
                   responses=s.CommentSerializer)
    def partial_update(self, request, pk=None):
        comment = self.get_object()
        data = validated(s.CommentEditSerializer, request.data)
        comment = comments.comment_edit(
            actor=request.user, comment=comment, content=data["content"], mentions=data.get("mentions")
        )
        return Response(comment.body)

    @extend_schema(tags=["comments"], parameters=[SHARE_TOKEN], responses=NO_CONTENT)
    def destroy(self, request, pk=None):
        comments.comment_delete(actor=request.user, comment=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["comments"], request=None, responses=RESOLVED)
    def resolve(self, request, pk=None):
        root = comments.comment_set_resolved(actor=request.user, comment=self.get_object(), resolved=True)
        resolver = root.resolved_by
        return Response({
            "resolved": root.resolved,
            "resolved_by": user_summary(resolver) if resolver else None,
            "resolved_at": utc_timestamp_or_none(root.resolved_at),
        })

    @extend_schema(tags=["comments"], request=None, responses=RESOLVED)
    def reopen(self, request, pk=None):
        comments.comment_set_resolved(actor=request.user, comment=self.get_object(), resolved=False)
        return Response({"resolved": False})

    @extend_schema(tags=["comments"], parameters=[SHARE_TOKEN], request=s.ReactionSerializer,
                   responses={201: REACTED, 200: REACTED})
    def react(self, request, pk=None):
        comment = self.get_object()
        data = validated(s.ReactionSerializer, request.data)
        added, comment = comments.comment_react(actor=request.user, comment=comment, emoji=data["emoji"])
        return Response({"added": added, "reactions": comment.body["reactions"]}, status=201 if added else 200)

