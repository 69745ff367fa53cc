"""The existing web client's offline batch (SPEC §3.9): `POST documents/batch`, onto sync push.

The client collects the documents it changed while offline and sends them as operations
`{operation, clientId, documentId, data, expectedVersion}`. Each becomes a push change
(SPEC §4), applied in its own transaction with its receipt, so a retried batch changes nothing
twice: `clientId` is the change id (a UUIDv5 of the user and `clientId` when it is not a UUID).
`expectedVersion` is the document's Yjs version the client last saw: when it is still current the
content applies, otherwise the operation is a conflict. A `yjs_state_b64` in `data` is the client's
own editor state: it is merged as a CRDT update (never written over the content), so the live
document and the client's local copy stay one document. `atomic` is accepted and ignored: every
operation is its own transaction (SPEC §4).
"""

from __future__ import annotations

import uuid

import pycrdt
from django.db.models import Count
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from collab import bridge
from documents.models import Document
from documents.serializers import YjsStateField
from documents.services import client_sync, documents
from mdcreator.fields import IntegerField, StrictCharField, StrictUUIDField
from mdcreator.validation import validated
from sync.push import push_one, pusher_for
from sync.services import ClientInfo

# Names client ids that are not UUIDs; a fixed, public namespace (UUIDv5 needs one), not a secret.
CLIENT_ID_NAMESPACE = uuid.UUID("6f1b6c8e-3d0a-5e7b-9a43-2c1d5e8f7a90")
DEVICE = "web-client-batch"


class BatchOperationSerializer(serializers.Serializer):
    """One operation, under the client's camelCase names (declared here, as Python names cannot be)."""

    def get_fields(self) -> dict:
        return {
            "operation": serializers.ChoiceField(choices=["create", "update", "delete"]),
            "clientId": StrictCharField(max_length=255),
            "documentId": serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=255),
            "data": serializers.JSONField(required=False, default=dict),
            "expectedVersion": IntegerField(required=False, allow_null=True, min_value=0),
        }


class BatchSerializer(serializers.Serializer):
    workspace_id = StrictUUIDField()
    operations = BatchOperationSerializer(many=True, max_length=100, allow_empty=True)
    atomic = serializers.BooleanField(required=False, default=False)


class BatchResultSerializer(serializers.Serializer):
    def get_fields(self) -> dict:
        return {
            "clientId": serializers.CharField(),
            "status": serializers.ChoiceField(choices=["success", "conflict", "error"]),
            "documentId": serializers.CharField(allow_null=True),
            "version": serializers.IntegerField(required=False),
            "error": serializers.CharField(required=False),
            "conflictData": serializers.JSONField(required=False),
        }


class BatchResponseSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    successful = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = BatchResultSerializer(many=True)


def stable_uuid(user, value: str, kind: str) -> uuid.UUID:
    """`value` when it is a UUID, else a UUIDv5 of (user, kind, value): the same on every retry."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.uuid5(CLIENT_ID_NAMESPACE, f"{user.pk}:{kind}:{value}")


class _Refused(Exception):
    """An operation answered before it reaches push (a stale version, an unreadable state)."""

    def __init__(self, status: str, **fields):
        super().__init__(status)
        self.status, self.fields = status, fields


def _uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _state_of(data: dict) -> bytes | None:
    """The client's Yjs state (the documents' `YjsStateField`), checked to decode before anything is written."""
    try:
        update = YjsStateField().run_validation(data.pop("yjs_state_b64", None))
        if update is not None:
            pycrdt.get_state(update)
    except (serializers.ValidationError, ValueError):
        raise _Refused("error", error="data.yjs_state_b64 is not a base64 Yjs update.") from None
    return update


def _change(user, workspace_id, operation: dict) -> tuple[dict, bytes | None, bool | None]:
    """The push change an operation stands for, the Yjs state to merge after it and the star to set."""
    data = operation["data"]
    if not isinstance(data, dict):
        raise _Refused("error", error="data must be an object.")
    data = dict(data)
    state, starred = _state_of(data), data.pop("is_starred", None)
    if "content_type" in data:
        data.setdefault("type", data.pop("content_type"))
    document_id = operation.get("documentId") or (str(data["id"]) if data.get("id") else operation["clientId"])
    data.pop("id", None)
    change = {
        "change_id": stable_uuid(user, operation["clientId"], "change"),
        "entity_type": "document",
        "operation": operation["operation"],
        "entity_id": str(stable_uuid(user, document_id, "document")) if operation["operation"] == "create"
        else document_id,
        "base_content_hash": None,
        "data": data,
    }
    if state is not None and _type_of(workspace_id, operation["operation"], data, document_id) != Document.Type.MARKDOWN:
        raise _Refused("error", error="Only markdown documents have a Yjs state.")
    if state is not None:
        existing = _uuid_or_none(change["entity_id"]) if operation["operation"] == "update" else None
        refusal = bridge.state_refusal(existing, state)
        if refusal is not None:
            raise _Refused("error", error=f"data.yjs_state_b64: {refusal}")
    if operation["operation"] == "create" and state is not None:
        data["content"] = ""  # the state carries the content: seeding the markdown too would hold it twice
    if operation["operation"] == "update":
        if state is not None:
            data.pop("content", None)  # merged from the state instead, which needs no precondition
        elif "content" in data and operation.get("expectedVersion") is not None:
            change["base_content_hash"] = _current_hash(workspace_id, document_id, operation["expectedVersion"])
    return change, state, starred


def _type_of(workspace_id, operation: str, data: dict, document_id: str) -> str | None:
    """The type of the document an operation creates or changes (None when there is no such document)."""
    if operation == "create":
        return data.get("type", Document.Type.MARKDOWN)
    try:
        key = uuid.UUID(document_id)
    except ValueError:
        return None
    return Document.objects.filter(pk=key, workspace_id=workspace_id).values_list("type", flat=True).first()


def _current_hash(workspace_id, document_id: str, expected_version: int) -> str | None:
    """The hash the content may replace when `expected_version` is the document's Yjs version; else a conflict."""
    try:
        key = uuid.UUID(document_id)
    except ValueError:
        return None  # push answers for the malformed id
    row = (
        Document.objects.filter(pk=key, workspace_id=workspace_id, deleted=False)
        .values_list("content_hash", "collab_state__last_seq")
        .first()
    )
    if row is None:
        return None
    content_hash, yjs_version = row[0], row[1] or 0
    if yjs_version != expected_version:
        document = Document.objects.select_related("updated_by").get(pk=key)
        raise _Refused(
            "conflict",
            conflictData={**documents.server_version(document, with_content=True), "yjs_version": yjs_version},
        )
    return content_hash


def _after(user, document_id, state: bytes | None, starred: bool | None, markdown: str, *, created: bool) -> None:
    """What push does not carry: the client's Yjs state merged as a CRDT update (a new document's live state
    starts as exactly that state), and the creator's star."""
    document = Document.objects.filter(pk=document_id, deleted=False).first()
    if document is None:
        return
    if starred is not None:
        documents.document_star(document=document, user=user, starred=bool(starred))
    if state is not None:
        client_sync.document_apply_client_state(
            actor=user, document=document, update=state, markdown=markdown, created=created
        )


def _outcome(operation: dict, pushed: dict) -> dict:
    outcome = {"clientId": operation["clientId"], "status": pushed["status"], "documentId": pushed["entity_id"]}
    if pushed["status"] == "conflict":
        outcome["conflictData"] = pushed.get("server_version", {})
    elif pushed["status"] == "error":
        outcome["error"] = pushed["error"].get("detail") or pushed["error"].get("type", "error")
    return outcome


class DocumentsBatchView(APIView):
    """`POST documents/batch`: the client's offline operations, each a push change; results in request order."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["client"], request=BatchSerializer, responses=BatchResponseSerializer)
    def post(self, request):
        envelope = validated(BatchSerializer, request.data)
        pusher = pusher_for(request.user, envelope["workspace_id"])
        workspace = pusher.member.workspace
        results = []
        for operation in envelope["operations"]:
            try:
                change, state, starred = _change(request.user, workspace.pk, operation)
            except _Refused as refused:
                results.append({"clientId": operation["clientId"], "status": refused.status,
                                "documentId": operation.get("documentId") or None, **refused.fields})
                continue
            markdown = (operation["data"] or {}).get("content", "") if isinstance(operation["data"], dict) else ""
            client = ClientInfo(device_id=DEVICE, client_version=None, client_change_id=change["change_id"])
            pushed = push_one(pusher=pusher, workspace=workspace, change=change, client=client)
            if pushed["status"] == "success" and change["operation"] != "delete":
                _after(request.user, pushed["entity_id"], state, starred, markdown if isinstance(markdown, str) else "",
                       created=change["operation"] == "create")
            results.append(_outcome(operation, pushed))
        _versions(results)
        successful = sum(result["status"] == "success" for result in results)
        return Response({"total": len(results), "successful": successful, "failed": len(results) - successful,
                         "results": results})


def _versions(results: list[dict]) -> None:
    """Each successful result's `version`: its document's number of versions, read in one query."""
    ids = [result["documentId"] for result in results if result["status"] == "success"]
    rows = Document.objects.filter(pk__in=ids).annotate(count=Count("versions")).values_list("pk", "count")
    counts = {str(pk): count for pk, count in rows}
    for result in results:
        if result["status"] == "success":
            result["version"] = counts.get(result["documentId"], 0)


urlpatterns = [
    path("documents/batch", DocumentsBatchView.as_view(), name="client-documents-batch"),
]
