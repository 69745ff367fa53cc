"""The one way document changes reach the live rooms: the documents services call these functions.

Documents sit below live collaboration, yet a REST write must reach the live
document in the writer's transaction (SPEC §5.4 "REST → live"), and a deletion
must close the rooms (§5.6). So the documents services import this module, and
only this one, from collab; it imports nothing from the documents services.

Where a change came from travels as its `Origin`: the live document's own
materialization (`live`) is never merged back into it.
"""

from __future__ import annotations

import pycrdt

from collab import store
from collab.markdown import merge_markdown
from collab.markdown.threeway import merge_three_way
from collab.models import CollabState, Presence
from collab.protocol import content_refusal
from mdcreator.events import broadcast_on_commit, document_group
from sync.origin import Origin, OriginKind

# The origin of updates the server itself writes into a live document.
SERVER_ORIGIN = "server"


def merge_content(*, document, actor, previous: str | None, origin: Origin) -> None:
    """A document's content was written: merge it into the live document and tell the rooms.

    Runs in the writer's transaction, after the write and under its row lock.
    `previous` is the content the writer started from (None when unknown).
    """
    if origin.kind == OriginKind.LIVE:
        return  # the live document wrote this markdown itself
    _merge_blocks(document=document, actor=actor, previous=previous)
    event = {"type": "document", "action": "updated", "content_hash": document.content_hash}
    broadcast_on_commit(document_group(document.pk), {"type": "doc.event", "event": event, "origin": SERVER_ORIGIN})


def _merge_blocks(*, document, actor, previous: str | None) -> list[int]:
    """Merge the new markdown into the live document block by block; returns the seqs stored.

    Without a collaborative state nothing happens: hydration later starts from the new
    content. The merge is persisted and broadcast like any update and, unless live edits
    are still waiting to be materialized, marked materialized, so the server's own write
    is not turned back into markdown.
    """
    record = CollabState.objects.select_for_update().filter(document_id=document.pk).first()
    if record is None or not store.is_collaborative(document):
        return []
    doc = store.load_snapshot(document.pk).as_doc()
    if previous is None:
        update = merge_markdown(doc, document.content, origin=SERVER_ORIGIN)
    else:
        # Against the text the writer started from, so live edits it never saw survive.
        update = merge_three_way(doc, previous, document.content, origin=SERVER_ORIGIN)
    if not update:
        return []
    seqs = store.append_updates(document.pk, [(update, getattr(actor, "pk", None))])
    if record.materialized_seq >= record.last_seq:
        CollabState.objects.filter(document_id=document.pk).update(materialized_seq=seqs[-1])
    # Otherwise live edits the writer never saw are still pending: the next materialization writes
    # them, together with this merge, to the markdown.
    broadcast_on_commit(
        document_group(document.pk), {"type": "doc.update", "seqs": seqs, "update": update, "origin": SERVER_ORIGIN}
    )
    return seqs


def live_state(document) -> tuple[bytes, int] | None:
    """A markdown document's whole Yjs state (hydrated from its content when no room has built it yet)
    and its last update seq: the bytes `GET yjs-state` serves. None for documents not edited live."""
    if not store.is_collaborative(document):
        return None
    snapshot = store.load_snapshot(document.pk)
    if snapshot.state and not snapshot.updates:  # compacted: the stored state is the whole document
        return snapshot.state, snapshot.last_seq
    return snapshot.as_doc().get_update(), snapshot.last_seq


def state_refusal(document_id, update: bytes) -> str | None:
    """Why a client's Yjs state may not be merged into the document (`document_id`; None: a new document's
    first state), or None: checked before anything of the change is written (SPEC §5.7, §9)."""
    doc = pycrdt.Doc()
    if document_id is not None and CollabState.objects.filter(document_id=document_id).exists():
        doc = store.load_snapshot(document_id).as_doc()
    return content_refusal(doc, update)


def merge_update(*, document, actor, update: bytes) -> None:
    """A Yjs update sent with a REST write of the existing client (`yjs_state_b64`): merged and materialized
    exactly as `POST documents/{id}/yjs-state` does (400 `invalid-yjs-update`, 409 `not-collaborative`)."""
    # Imported here: collab.services writes the materialized markdown through the documents services,
    # which import this module.
    from collab.services import collab_post_update

    collab_post_update(document=document, actor=actor, update=update, field="yjs_state_b64")


def adopt_update(*, document, actor, update: bytes) -> None:
    """A document created empty with its creator's whole Yjs state: the live document becomes exactly that
    state (nothing hydrated from the empty content first), merged and materialized as `merge_update` does."""
    store.start_empty(document)
    merge_update(document=document, actor=actor, update=update)


def lifecycle_changed(*, document, action: str) -> None:
    """Tell a document's rooms after commit: `deleted` (closes them), `restored` or `version_restored`."""
    _announce(document.pk, action, document.content_hash)


def _announce(document_id, action: str, content_hash: str) -> None:
    message = {
        "type": "doc.event",
        "event": {"type": "document", "action": action, "content_hash": content_hash},
        "origin": SERVER_ORIGIN,
    }
    if action == "deleted":
        message["close"] = "document-deleted"
    broadcast_on_commit(document_group(document_id), message)


def documents_trashed(*, workspace_id, at) -> None:
    """The documents of a workspace went to the trash together at `at` (the workspace was deleted): close
    their open rooms. Only documents someone has open are read and told, so deleting a workspace of
    thousands of documents sends a handful of messages."""
    open_documents = (
        Presence.objects.filter(document__workspace_id=workspace_id, document__deleted_at=at, is_active=True)
        .values_list("document_id", "document__content_hash")
        .distinct()
    )
    for document_id, content_hash in open_documents:
        _announce(document_id, "deleted", content_hash)


def comment_changed(*, document_id, action: str, comment: dict) -> None:
    """After commit, a comment event (`create`, `update`, `delete`, `resolve`, `reopen`, `react`) to the rooms."""
    event = {"type": "comment", "action": action, "comment": comment, "document_id": str(document_id)}
    broadcast_on_commit(document_group(document_id), {"type": "doc.event", "event": event, "origin": SERVER_ORIGIN})


def access_changed(*, document_id) -> None:
    """After commit, every live session of the document re-checks its access (a revoked link closes its sockets)."""
    broadcast_on_commit(document_group(document_id), {"type": "doc.recheck", "origin": SERVER_ORIGIN})
