"""The existing client's live snapshot path (SPEC §3.9): `documents/{id}/snapshot`, over the Yjs state services.

The client posts its whole Yjs state about 3 s after every burst of edits (`{yjs_state, html,
updated_at}`, base64) and reads it back to restore an empty editor. POST merges it exactly like
`POST documents/{id}/yjs-state` (an update adding nothing is neither stored nor broadcast; the
content is materialized at once); GET serves the merged state like `GET documents/{id}/yjs-state`,
with the HTML of the document's content. Merging a Yjs update is collab's, so this adapter lives
here rather than in `documents.client_api`; included after the SPEC paths, before the catch-all.
"""

from __future__ import annotations

import base64
import binascii

from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from collab import services
from collab.models import CollabState
from documents.models import Document
from documents.permissions import DocumentAbility, SignedInOrShareToken, check_ability, share_token
from documents.selectors import document_get
from documents.services.snapshots import snapshot_html
from mdcreator.errors import ValidationProblem
from mdcreator.fields import StrictCharField
from mdcreator.timestamps import utc_timestamp
from mdcreator.validation import validated


class LiveSnapshotSerializer(serializers.Serializer):
    """The client's snapshot; `html` and `updated_at` are its own and not stored (the server renders HTML)."""

    yjs_state = StrictCharField(max_length=12 * 1024 * 1024, trim_whitespace=True)
    html = serializers.JSONField(required=False)
    updated_at = serializers.JSONField(required=False)


SERVED = inline_serializer("LiveSnapshot", {
    "yjs_state": serializers.CharField(), "html": serializers.CharField(), "updated_at": serializers.CharField(),
    "yjs_version": serializers.IntegerField(),
})
MERGED = inline_serializer("LiveSnapshotMerged", {
    "success": serializers.BooleanField(), "content_hash": serializers.CharField(),
    "state_vector_b64": serializers.CharField(), "yjs_version": serializers.IntegerField(),
    "updated_at": serializers.CharField(),
})


def _decoded(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationProblem({"yjs_state": ["Not valid base64."]}, detail="yjs_state: Not valid base64.") from None


def _encoded(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _updated_at(document: Document) -> str:
    """When the content or the live state last changed, whichever is later."""
    live = CollabState.objects.filter(document_id=document.pk).values_list("updated_at", flat=True).first()
    return utc_timestamp(max(filter(None, (document.updated_at, live))))


class LiveSnapshotView(APIView):
    """`documents/{id}/snapshot`: the merged Yjs state and HTML (GET), a client's whole state merged (POST)."""

    permission_classes = [SignedInOrShareToken, DocumentAbility]

    @extend_schema(tags=["client"], responses=SERVED)
    def get(self, request, pk):
        document = document_get(user=request.user, document_id=pk, share_token=share_token(request), summary=False)
        check_ability(self, document, "retrieve_state")
        update, _, last_seq = services.collab_state(document=document, state_vector=None)
        document.refresh_from_db(fields=["content", "updated_at"])
        return Response(
            {
                "yjs_state": _encoded(update),
                "html": snapshot_html(document_type=document.type, content=document.content),
                "updated_at": _updated_at(document),
                "yjs_version": last_seq,
            }
        )

    @extend_schema(tags=["client"], request=LiveSnapshotSerializer, responses=MERGED)
    def post(self, request, pk):
        document = document_get(user=request.user, document_id=pk, share_token=share_token(request), summary=False)
        check_ability(self, document, "update_state")
        update = _decoded(validated(LiveSnapshotSerializer, request.data)["yjs_state"])
        content_hash, state_vector, last_seq = services.collab_post_update(
            document=document, actor=request.user, update=update, field="yjs_state"
        )
        document.refresh_from_db(fields=["updated_at"])
        return Response(
            {
                "success": True,
                "content_hash": content_hash,
                "state_vector_b64": _encoded(state_vector),
                "yjs_version": last_seq,
                "updated_at": _updated_at(document),
            }
        )


urlpatterns = [
    path("documents/<str:pk>/snapshot", LiveSnapshotView.as_view(), name="client-document-snapshot"),
]
