"""Writes of the existing web client that carry its Yjs state or version (SPEC §3.9).

The client pushes a document with its whole Yjs state (`yjs_state_b64`) and, on an update,
the state version it last saw (`expected_yjs_version`, the live state's last update seq)
instead of an `If-Match`. The state is merged as a CRDT update, exactly as
`POST documents/{id}/yjs-state` merges it (collab.bridge), never written over the content.
"""

from __future__ import annotations

from django.db import transaction

from collab import bridge
from documents.errors import YjsVersionConflictError
from documents.models import Document
from documents.services.documents import (
    check_precondition,
    document_create,
    document_star,
    document_update,
    locked_live,
    server_version,
)


def document_yjs_version(document_id) -> int:
    """The last update seq of a document's live state: 0 before it has one (what `GET yjs-state` calls last_seq)."""
    return Document.objects.filter(pk=document_id).values_list("collab_state__last_seq", flat=True).first() or 0


@transaction.atomic
def document_create_from_client(*, actor, workspace, data: dict, starred: bool, yjs_update: bytes | None) -> Document:
    """Create a document (`document_create`), star it for the creator, and merge the client's Yjs state.

    With a state, the document starts empty and its content is materialized from the state: the
    client built the state and its markdown from the same editor, and seeding the live document from
    the markdown as well would hold every block twice. Should the state carry no readable content,
    the markdown sent is written instead, so nothing the client sent is lost. All or nothing.
    """
    content = data.get("content", "")
    if yjs_update is not None and data.get("type", Document.Type.MARKDOWN) == Document.Type.MARKDOWN:
        data = {**data, "content": ""}  # other types have no live state: the merge below refuses them
    document = document_create(actor=actor, workspace=workspace, data=data)
    if starred:
        document_star(document=document, user=actor, starred=True)
    if yjs_update is not None:
        document_apply_client_state(actor=actor, document=document, update=yjs_update, markdown=content, created=True)
    return document


def document_apply_client_state(*, actor, document: Document, update: bytes, markdown: str, created: bool) -> None:
    """Merge the client's Yjs state as a CRDT update (a new document's live state starts as exactly that
    state); when the result holds no readable content, the markdown the client sent is written instead."""
    (bridge.adopt_update if created else bridge.merge_update)(document=document, actor=actor, update=update)
    document.refresh_from_db()
    if not document.content and markdown:
        document_update(actor=actor, document=document, data={"content": markdown}, if_match="*")


@transaction.atomic
def document_update_from_client(
    *, actor, document: Document, data: dict, if_match: str | None, expected_yjs_version: int | None,
    yjs_update: bytes | None,
) -> Document:
    """A PATCH with the client's precondition or state.

    Without `If-Match`, `expected_yjs_version` is the precondition: a stale one is 409 `edit-conflict`
    with `server_version` (and its `yjs_version`), a current one lets content through. With a state,
    the content sent is not written: the state is merged and the content materialized from it, so
    it needs no precondition; the other fields then apply as a metadata-only PATCH.
    """
    locked = locked_live(document.pk)
    if if_match is None and expected_yjs_version is not None:
        current = document_yjs_version(locked.pk)
        if current != expected_yjs_version:
            raise YjsVersionConflictError(locked, server_version={**server_version(locked), "yjs_version": current})
        if_match = "*"
    if yjs_update is not None:
        check_precondition(locked, if_match, required=False)
        bridge.merge_update(document=locked, actor=actor, update=yjs_update)
        # Checked above; the merge has moved the content hash the header named.
        data, if_match = {name: value for name, value in data.items() if name != "content"}, None
    if data:
        document_update(actor=actor, document=locked, data=data, if_match=if_match)
    return locked
