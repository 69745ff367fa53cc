"""Live → markdown (materialization) and the Yjs state over REST (SPEC §3.3, §5.4).

The other direction, REST → live, is `collab.bridge`.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pycrdt
from django.db import close_old_connections, transaction
from django.db.models import F, Subquery
from django.utils import timezone

from accounts.models import User
from collab import store
from collab.bridge import SERVER_ORIGIN
from collab.errors import InvalidYjsUpdateError, NotCollaborativeError
from collab.markdown import content_fragment, read_blocks, serialize_markdown
from collab.models import CollabState, CollabUpdate
from collab.protocol import content_refusal, update_adds_nothing
from documents.models import Document
from documents.services.documents import document_update
from mdcreator.errors import ValidationProblem
from mdcreator.events import broadcast_on_commit, document_group
from mdcreator.queries import only_row
from sync.origin import LIVE

logger = logging.getLogger(__name__)


def _last_editor(document: Document, materialized_seq: int):
    """Who made the newest live edit not materialized yet (one query), else the document's last editor."""
    newest = (
        CollabUpdate.objects.filter(document_id=document.pk, seq__gt=materialized_seq, user__isnull=False)
        .order_by("-seq")
        .values("user_id")[:1]
    )
    return only_row(User.objects.filter(pk=Subquery(newest))) or document.updated_by or document.created_by


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
    # The content seen and whether the log is ahead of it, in one query (no state row: nothing live to write).
    found = only_row(
        Document.objects.filter(pk=document_id, deleted=False).values_list(
            "content_hash", "collab_state__last_seq", "collab_state__materialized_seq"
        )
    )
    if found is None or found[1] is None or found[1] <= found[2]:
        return False
    seen = found[0]
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
                if_match="*", origin=LIVE,
            )
        # Last, so the state row is locked only for the commit: update writers wait on it.
        CollabState.objects.filter(document_id=document_id, materialized_seq__lt=snapshot.last_seq).update(
            materialized_seq=snapshot.last_seq
        )
    return True


# Catching up (SPEC §5.4): a process killed with rooms open leaves acknowledged live edits in the update log
# that no room will materialize, since nobody reopens those documents. Every process catches up once it
# serves, then every CATCH_UP_INTERVAL seconds on the documents whose log has been still for CATCH_UP_IDLE
# seconds (an open room materializes its own edits within MATERIALIZE_MAX_WAIT, 10 s).
CATCH_UP_INTERVAL = 120.0
CATCH_UP_IDLE = 60.0
# One thread of its own: a long catch-up never delays the rooms' materialization and compaction.
_CATCH_UP = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collab-catch-up")


def collab_materialize_pending(*, idle_for: float = 0.0) -> int:
    """Materialize every live document whose update log is ahead of its markdown; how many were written.

    With `idle_for`, documents whose log moved in the last `idle_for` seconds are left to their rooms.
    Processes running this together share the work: each document is taken under its upkeep lock, and
    one whose lock another process holds is skipped (that process is materializing it). A failure is
    logged and the pass goes on with the next document.
    """
    pending = CollabState.objects.filter(last_seq__gt=F("materialized_seq"), document__deleted=False)
    if idle_for:
        pending = pending.filter(updated_at__lte=timezone.now() - timedelta(seconds=idle_for))
    written = 0
    for document_id in list(pending.order_by("updated_at").values_list("document_id", flat=True)):
        with store.upkeep_lock(document_id) as acquired:
            if not acquired:
                continue
            try:
                written += collab_materialize(document_id)
            except Exception:
                logger.exception("document %s: catching up on its live edits failed", document_id)
    return written


def _catch_up_pass(idle_for: float) -> int:
    close_old_connections()
    try:
        return collab_materialize_pending(idle_for=idle_for)
    finally:
        close_old_connections()


async def collab_catch_up_forever(*, interval: float = CATCH_UP_INTERVAL, idle_for: float = CATCH_UP_IDLE) -> None:
    """On a serving process's loop: materialize every pending document now, then every `interval` seconds
    those still for `idle_for` seconds. The passes run on a thread of their own; the loop never waits."""
    loop = asyncio.get_running_loop()
    still_for = 0.0  # the first pass takes everything: the rooms that left these edits are gone
    while True:
        try:
            written = await loop.run_in_executor(_CATCH_UP, _catch_up_pass, still_for)
            if written:
                logger.info("materialized the pending live edits of %s document(s)", written)
        except Exception:
            logger.exception("catching up on pending live edits failed")
        still_for = idle_for
        await asyncio.sleep(interval)


def collab_state(*, document: Document, state_vector: bytes | None) -> tuple[bytes, bytes, int]:
    """The merged live state (or the diff a client with `state_vector` lacks), its state vector, last seq."""
    if not store.is_collaborative(document):
        raise NotCollaborativeError()
    snapshot = store.load_snapshot(document.pk)
    doc = snapshot.as_doc()
    try:
        update = doc.get_update(state_vector) if state_vector else doc.get_update()
    except ValueError:
        raise ValidationProblem({"state_vector": ["Not a Yjs state vector."]}) from None
    return update, doc.get_state(), snapshot.last_seq


def collab_post_update(*, document: Document, actor, update: bytes, field: str = "update_b64") -> tuple[str, bytes, int]:
    """Accept a Yjs update over REST as the socket would, then materialize at once (SPEC §3.3); an undecodable
    update is a 400 naming `field`, the request's name for it."""
    if not store.is_collaborative(document):
        raise NotCollaborativeError()
    try:
        pycrdt.get_state(update)
    except ValueError:
        raise InvalidYjsUpdateError(field=field) from None
    # As on the sockets, an update holding nothing the stored document lacks (empty, or sent twice) is no
    # edit: it is neither stored nor broadcast; one that does not apply, or puts another type than XML in
    # the root `content` (SPEC §5.7), is refused before anything is stored, whichever path brought it.
    doc = store.load_snapshot(document.pk).as_doc()
    adds_nothing = update_adds_nothing(doc, update)
    refusal = None if adds_nothing else content_refusal(doc, update)
    if refusal is not None:
        raise InvalidYjsUpdateError(refusal, field=field)
    if not adds_nothing:
        with transaction.atomic():  # DocumentTooLargeError is the 413 problem itself
            seqs = store.apply_update(document.pk, update, user_id=actor.pk)
            broadcast_on_commit(
                document_group(document.pk),
                {"type": "doc.update", "seqs": seqs, "update": update, "origin": SERVER_ORIGIN},
            )
    collab_materialize(document.pk)
    snapshot = store.load_snapshot(document.pk)
    document.refresh_from_db(fields=["content_hash"])
    return document.content_hash, snapshot.as_doc().get_state(), snapshot.last_seq
