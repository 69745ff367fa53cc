"""Keeping markdown and the live document in step (SPEC §5.4), and the events rooms relay (§5.5, §5.6)."""

from __future__ import annotations

import logging

import pycrdt
from django.db import transaction

from accounts.models import User
from collab import store
from collab.markdown import content_fragment, merge_markdown, read_blocks, serialize_markdown
from collab.markdown.threeway import merge_three_way
from collab.models import CollabState, CollabUpdate
from collab.protocol import update_adds_nothing
from documents.models import Document
from documents.services.documents import document_update
from mdcreator.errors import ConflictError, PayloadTooLargeError, ValidationProblem
from mdcreator.events import broadcast_on_commit, document_group

SERVER_ORIGIN = "server"
logger = logging.getLogger(__name__)


@transaction.atomic
def collab_merge_content(*, document: Document, actor, previous: str | None = None) -> list[int]:
    """Merge a REST/push/restore content write into the live document, block by block.

    Runs in the writer's transaction. Without a collaborative state nothing
    happens: hydration later starts from the new content. The merge is
    persisted and broadcast like any update and, unless live edits are still
    waiting to be materialized, marked materialized, so the server's own write
    is not turned back into markdown.
    """
    record = CollabState.objects.select_for_update().filter(document_id=document.pk).first()
    if record is None or document.type != Document.Type.MARKDOWN:
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


def _last_editor(document: Document, materialized_seq: int):
    editor_id = (
        CollabUpdate.objects.filter(document_id=document.pk, seq__gt=materialized_seq, user__isnull=False)
        .order_by("-seq")
        .values_list("user_id", flat=True)
        .first()
    )
    if editor_id is not None:
        return User.objects.filter(pk=editor_id).first() or document.updated_by or document.created_by
    return document.updated_by or document.created_by


MATERIALIZE_ATTEMPTS = 3


def collab_materialize(document_id) -> bool:
    """Write the live content back to `Document.content` when live updates are not reflected yet.

    The markdown is built from a snapshot without holding any lock, so updates keep being
    committed meanwhile; only the write takes the document row lock. If a REST write (or another
    process's materialization) changed the content since the snapshot, it starts again from a
    new one rather than write markdown that lacks it.
    """
    for _ in range(MATERIALIZE_ATTEMPTS):
        outcome = _materialize_once(document_id)
        if outcome is not None:
            return outcome
    logger.warning("document %s: content kept changing while materializing; the next edit tries again", document_id)
    return False


def _materialize_once(document_id) -> bool | None:
    """True when written, False when nothing was to be done, None when the content moved meanwhile."""
    seen = Document.objects.filter(pk=document_id, deleted=False).values_list("content_hash", flat=True).first()
    record = CollabState.objects.filter(document_id=document_id).only("last_seq", "materialized_seq").first()
    if seen is None or record is None or record.last_seq <= record.materialized_seq:
        return False
    snapshot = store.load_snapshot(document_id)
    blocks = read_blocks(content_fragment(snapshot.as_doc()))
    markdown = serialize_markdown(blocks) if blocks else None
    with transaction.atomic():
        # no_key: updates keep going into CollabUpdate, whose foreign key needs a key-share lock on this row.
        document = Document.objects.select_for_update(no_key=True).filter(pk=document_id, deleted=False).first()
        if document is None:
            return False
        if document.content_hash != seen:
            return None
        materialized_seq = CollabState.objects.filter(document_id=document_id).values_list(
            "materialized_seq", flat=True
        ).get()
        if materialized_seq >= snapshot.last_seq:
            return False  # another process wrote this snapshot or a later one
        if markdown is None:
            # Even an empty editor holds one paragraph: no block at all means `content` was created as
            # another type (Y.Text, Y.Map) or emptied by a foreign client. Writing "" would destroy the
            # last good markdown, so it is kept; these seqs count as looked at, later edits try again.
            logger.warning(
                "document %s: live `content` holds no block at seq %s; content kept", document_id, snapshot.last_seq
            )
        elif markdown != document.content:
            document_update(
                actor=_last_editor(document, materialized_seq), document=document, data={"content": markdown},
                if_match="*", from_collab=True,
            )
        # Last, so the state row is locked only for the commit: update writers wait on it.
        CollabState.objects.filter(document_id=document_id, materialized_seq__lt=snapshot.last_seq).update(
            materialized_seq=snapshot.last_seq
        )
    return True


def on_content_written(
    sender, *, document: Document, actor, from_collab: bool, previous: str | None = None, **kwargs
) -> None:
    """Receiver of documents.signals.content_written."""
    if from_collab:
        return
    collab_merge_content(document=document, actor=actor, previous=previous)
    event = {"type": "document", "action": "updated", "content_hash": document.content_hash}
    broadcast_on_commit(document_group(document.pk), {"type": "doc.event", "event": event, "origin": SERVER_ORIGIN})


def on_lifecycle_changed(sender, *, document: Document, action: str, **kwargs) -> None:
    """Receiver of documents.signals.lifecycle_changed: tell the rooms; a deletion closes them."""
    message = {
        "type": "doc.event",
        "event": {"type": "document", "action": action, "content_hash": document.content_hash},
        "origin": SERVER_ORIGIN,
    }
    if action == "deleted":
        message["close"] = "document-deleted"
    broadcast_on_commit(document_group(document.pk), message)


class InvalidYjsUpdateError(ValidationProblem):
    code, title = "invalid-yjs-update", "Invalid Yjs update"

    def __init__(self, detail: str = "The update could not be decoded as a Yjs v1 update."):
        super().__init__({"update_b64": [detail]}, detail)


class NotCollaborativeProblem(ConflictError):
    code, title = "not-collaborative", "Not collaborative"
    default_detail = "Only markdown documents have a collaborative state."


def collab_state(*, document: Document, state_vector: bytes | None) -> tuple[bytes, bytes, int]:
    """The merged live state (or the diff a client with `state_vector` lacks), its state vector, last seq."""
    if document.type != Document.Type.MARKDOWN:
        raise NotCollaborativeProblem()
    snapshot = store.load_snapshot(document.pk)
    doc = snapshot.as_doc()
    try:
        update = doc.get_update(state_vector) if state_vector else doc.get_update()
    except ValueError:
        raise ValidationProblem({"state_vector": ["Not a Yjs state vector."]}) from None
    return update, doc.get_state(), snapshot.last_seq


def collab_post_update(*, document: Document, actor, update: bytes) -> tuple[str, bytes, int]:
    """Accept a Yjs update over REST as the socket would, then materialize at once (SPEC §3.3)."""
    if document.type != Document.Type.MARKDOWN:
        raise NotCollaborativeProblem()
    try:
        pycrdt.get_state(update)
    except ValueError:
        raise InvalidYjsUpdateError() from None
    # As on the sockets, an update holding nothing the stored document lacks (empty, or sent twice) is no
    # edit: it is neither stored nor broadcast.
    if not update_adds_nothing(store.load_snapshot(document.pk).as_doc(), update):
        try:
            with transaction.atomic():
                seqs = store.apply_update(document.pk, update, user_id=actor.pk)
                broadcast_on_commit(
                    document_group(document.pk),
                    {"type": "doc.update", "seqs": seqs, "update": update, "origin": SERVER_ORIGIN},
                )
        except store.DocumentTooLargeError:
            raise PayloadTooLargeError("The collaborative state reached its 32 MiB limit.") from None
    collab_materialize(document.pk)
    snapshot = store.load_snapshot(document.pk)
    document.refresh_from_db(fields=["content_hash"])
    return document.content_hash, snapshot.as_doc().get_state(), snapshot.last_seq
