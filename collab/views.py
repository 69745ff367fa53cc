"""Live-collaboration REST endpoints: presence and the Yjs state (SPEC §3.3)."""

from __future__ import annotations

import base64
import binascii

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from collab import services
from collab.sessions import presence_users
from documents.permissions import DocumentAbility, SignedInOrShareToken, check_ability, share_token
from documents.selectors import document_get
from mdcreator.errors import ValidationProblem
from mdcreator.fields import StrictCharField, TimestampField
from mdcreator.validation import validated

STATE = inline_serializer(
    "YjsState",
    {"state_b64": serializers.CharField(), "state_vector_b64": serializers.CharField(), "last_seq": serializers.IntegerField()},
)
POSTED = inline_serializer(
    "YjsStateWritten",
    {"content_hash": serializers.CharField(), "state_vector_b64": serializers.CharField(), "last_seq": serializers.IntegerField()},
)


class PresenceUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()
    avatar_url = serializers.CharField(allow_null=True)
    device_type = serializers.CharField()
    is_typing = serializers.BooleanField()
    last_activity_at = TimestampField()


class YjsUpdateSerializer(serializers.Serializer):
    update_b64 = StrictCharField(max_length=12 * 1024 * 1024, trim_whitespace=True)


def _b64(text: str, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationProblem({field: ["Not valid base64."]}) from None


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class PresenceView(APIView):
    """Who is connected to a document right now."""

    permission_classes = [SignedInOrShareToken, DocumentAbility]

    @extend_schema(tags=["collaboration"], responses=inline_serializer("Presence", {"users": PresenceUserSerializer(many=True)}))
    def get(self, request, pk):
        document = document_get(user=request.user, document_id=pk, share_token=share_token(request), summary=False)
        check_ability(self, document, "presence")
        return Response({"users": PresenceUserSerializer(presence_users(document.pk), many=True).data})


class YjsStateView(APIView):
    """The merged live state (GET) and accepting a Yjs update over REST (POST)."""

    permission_classes = [SignedInOrShareToken, DocumentAbility]

    @extend_schema(tags=["collaboration"], parameters=[OpenApiParameter("state_vector", str)], responses=STATE)
    def get(self, request, pk):
        document = document_get(user=request.user, document_id=pk, share_token=share_token(request), summary=False)
        check_ability(self, document, "retrieve_state")
        raw = request.query_params.get("state_vector")
        vector = _b64(raw, "state_vector") if raw else None
        update, state_vector, last_seq = services.collab_state(document=document, state_vector=vector)
        return Response({"state_b64": _encode(update), "state_vector_b64": _encode(state_vector), "last_seq": last_seq})

    @extend_schema(tags=["collaboration"], request=YjsUpdateSerializer, responses=POSTED)
    def post(self, request, pk):
        document = document_get(user=request.user, document_id=pk, share_token=share_token(request), summary=False)
        check_ability(self, document, "update_state")
        update = _b64(validated(YjsUpdateSerializer, request.data)["update_b64"], "update_b64")
        content_hash, state_vector, last_seq = services.collab_post_update(
            document=document, actor=request.user, update=update
        )
        return Response({"content_hash": content_hash, "state_vector_b64": _encode(state_vector), "last_seq": last_seq})
