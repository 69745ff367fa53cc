"""Durable collaborative state: load, hydrate, append updates, compact (SPEC §5.4).

Synchronous ORM code: the consumers call it through the collab database
executor; REST services call it inside their own transactions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pycrdt
from django.db import OperationalError, connection, transaction
from django.db.models import Count, Sum
from django.db.models.functions import Length
from django.utils import timezone

from collab.errors import DocumentTooLargeError, NotCollaborativeError
from collab.markdown import markdown_to_update
from collab.models import CollabState, CollabUpdate
from collab.protocol import PendingDoc
from documents.models import Document
from mdcreator.sql import with_tables

MAX_STATE_BYTES = 32 * 1024 * 1024
COMPACT_ROWS = 500
COMPACT_BYTES = 1024 * 1024
# The first key of the PostgreSQL advisory locks that `upkeep_lock` takes (the second is the document's).
UPKEEP_LOCK_SPACE = 0x6D6463


@dataclass(frozen=True)
class Snapshot:
    """Everything needed to build a room's document: the compacted state and the later updates."""

    state: bytes
    updates: list[tuple[int, bytes]]
    last_seq: int

    def as_doc(self) -> PendingDoc:
        """A pycrdt document holding this snapshot, items still pending included (see PendingDoc)."""
        doc = PendingDoc()
        if self.state:
            doc.apply_update(self.state)
        for _, update in self.updates:
            doc.apply_update(update)
        return doc


def is_collaborative(document: Document) -> bool:
    """Only markdown documents are edited live (SPEC §10.4)."""
    return document.type == Document.Type.MARKDOWN


def _hydrate(document: Document) -> CollabState:
    """Build the first state from the markdown content; the caller holds the document row lock."""
    state = markdown_to_update(document.content)
    return CollabState.objects.create(document=document, state=state, size_bytes=len(state))


def start_empty(document: Document) -> None:
    """Give a new document an empty live state instead of one hydrated from its content, for a creator that
    brings its own editor state (the empty content would hydrate to an empty paragraph, kept next to the
    creator's blocks). A document that already has a state keeps it. The caller holds the document row."""
    if is_collaborative(document):
        CollabState.objects.get_or_create(document=document, defaults={"state": b"", "size_bytes": 0})


@transaction.atomic
def ensure_state(document_id) -> CollabState:
    """The document's collaborative state, created from its content on first use (one process wins)."""
    existing = CollabState.objects.filter(document_id=document_id).first()
    if existing is not None:
        return existing
    # The document row is only a mutex here: no key changes, so inserts referencing it are not blocked.
    document = Document.objects.select_for_update(no_key=True).get(pk=document_id)
    if not is_collaborative(document):
        raise NotCollaborativeError()
    return CollabState.objects.filter(document_id=document_id).first() or _hydrate(document)


def load_snapshot(document_id, *, after_seq: int | None = None) -> Snapshot:
    """The state plus its later updates; with `after_seq`, only the updates after it when still stored.

    The state row and the update rows are read from one snapshot of the database: a compaction
    moves `state_seq` and deletes the merged rows in one transaction, so it is seen entirely or
    not at all. Inside a caller's transaction the state row is locked instead (the callers that
    write already hold that lock).
    """
    if transaction.get_connection().in_atomic_block:
        ensure_state(document_id)
        record = CollabState.objects.select_for_update().get(document_id=document_id)
        return _read_snapshot(record, after_seq)
    if connection.vendor == "postgresql":
        found = _snapshot_in_one_statement(document_id, after_seq)
        if found is not None:
            return found
    ensure_state(document_id)  # hydration commits first, in its own transaction
    with transaction.atomic():
        _repeatable_read()
        return _read_snapshot(CollabState.objects.get(document_id=document_id), after_seq)


def _snapshot_in_one_statement(document_id, after_seq: int | None) -> Snapshot | None:
    """PostgreSQL: the state row and its later update rows in one statement, hence one snapshot of the
    database (no transaction to open); None when the document has no state yet."""
    sql = with_tables(
        """
        WITH s AS (SELECT state, state_seq, last_seq FROM {state} WHERE document_id = %(document)s)
        SELECT 0, s.state_seq, s.last_seq,
               CASE WHEN %(after)s::bigint >= s.state_seq THEN NULL ELSE s.state END FROM s
        UNION ALL
        SELECT 1, u.seq, NULL, u.update FROM {updates} AS u, s
        WHERE u.document_id = %(document)s AND u.seq > GREATEST(s.state_seq, COALESCE(%(after)s::bigint, 0))
        ORDER BY 1, 2
    """,
        state=CollabState,
        updates=CollabUpdate,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"document": document_id, "after": after_seq})
        rows = cursor.fetchall()
    if not rows:
        return None
    _, _, last, state = rows[0]
    return Snapshot(state=bytes(state) if state is not None else b"",
                    updates=[(seq, bytes(update)) for _, seq, _, update in rows[1:]], last_seq=last)


def _repeatable_read() -> None:
    """Make the just-opened transaction REPEATABLE READ (PostgreSQL; SQLite transactions are serialized anyway).

    A read-only REPEATABLE READ transaction takes no lock and never fails to serialize: writers
    are not held up while a room loads.
    """
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _read_snapshot(record: CollabState, after_seq: int | None) -> Snapshot:
    """The snapshot of `record` and its update rows; the caller makes both reads consistent."""
    rows = CollabUpdate.objects.filter(document_id=record.document_id).order_by("seq")
    if after_seq is not None and after_seq >= record.state_seq:
        updates = list(rows.filter(seq__gt=after_seq).values_list("seq", "update"))
        return Snapshot(state=b"", updates=[(s, bytes(u)) for s, u in updates], last_seq=record.last_seq)
    updates = list(rows.filter(seq__gt=record.state_seq).values_list("seq", "update"))
    return Snapshot(state=bytes(record.state), updates=[(s, bytes(u)) for s, u in updates], last_seq=record.last_seq)


def pending_updates(document_id, state_seq: int) -> tuple[int, int]:
    """Rows and bytes of updates not yet compacted."""
    totals = CollabUpdate.objects.filter(document_id=document_id, seq__gt=state_seq).aggregate(
        rows=Count("pk"), size=Sum(Length("update"))
    )
    return totals["rows"] or 0, totals["size"] or 0


def append_updates(document_id, items: list[tuple[bytes, object]]) -> list[int]:
    """Persist updates (bytes, user id) under the state row lock; returns their seqs, contiguous.

    Commit happens before anyone applies or relays them (durability before broadcast).
    """
    incoming = sum(len(update) for update, _ in items)
    if connection.vendor == "postgresql":
        last = _append_in_one_statement(document_id, items, incoming)
    else:
        last = _append_with_orm(document_id, items, incoming)
    return list(range(last - len(items) + 1, last + 1))


def _append_in_one_statement(document_id, items: list[tuple[bytes, object]], incoming: int) -> int:
    """PostgreSQL: allocate the seqs and insert the rows in one statement, one round trip, no ORM.

    This runs for every batch of live edits. The UPDATE locks the state row until commit (so seqs
    stay contiguous and ordered per document) and the INSERT reads the seqs it returned.
    """
    sql = with_tables(
        """
        WITH state AS (
            UPDATE {state} SET last_seq = last_seq + %(n)s, size_bytes = size_bytes + %(size)s, updated_at = now()
            WHERE document_id = %(document)s AND size_bytes + %(size)s <= %(limit)s
            RETURNING last_seq
        ), inserted AS (
            INSERT INTO {updates} (document_id, seq, update, user_id, created_at)
            SELECT %(document)s, state.last_seq - %(n)s + item.ord, item.update, item.user_id, now()
            FROM state, unnest(%(updates)s::bytea[], %(users)s::uuid[]) WITH ORDINALITY AS item(update, user_id, ord)
        )
        SELECT last_seq FROM state
    """,
        state=CollabState,
        updates=CollabUpdate,
    )
    params = {
        "n": len(items), "size": incoming, "document": document_id, "limit": MAX_STATE_BYTES,
        "updates": [update for update, _ in items], "users": [str(user) if user else None for _, user in items],
    }
    with connection.cursor() as cursor:  # one statement: atomic on its own, or part of the caller's transaction
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        if CollabState.objects.filter(document_id=document_id).exists():
            raise DocumentTooLargeError()
        raise CollabState.DoesNotExist(f"No collaborative state for {document_id}.")
    return row[0]


@transaction.atomic
def _append_with_orm(document_id, items: list[tuple[bytes, object]], incoming: int) -> int:
    record = CollabState.objects.select_for_update().get(document_id=document_id)
    if record.size_bytes + incoming > MAX_STATE_BYTES:
        raise DocumentTooLargeError()
    first = record.last_seq + 1
    seqs = list(range(first, first + len(items)))
    CollabUpdate.objects.bulk_create(
        [
            CollabUpdate(document_id=document_id, seq=seq, update=update, user_id=user)
            for seq, (update, user) in zip(seqs, items, strict=True)
        ]
    )
    CollabState.objects.filter(document_id=document_id).update(
        last_seq=seqs[-1], size_bytes=record.size_bytes + incoming, updated_at=timezone.now()
    )
    return seqs[-1]


def append_updates_many(groups: list[tuple[object, list[tuple[bytes, object]]]]) -> list[list[int] | Exception]:
    """Persist the updates of several documents in one transaction: for each `(document_id, items)` in
    order, its seqs (contiguous), or the error that refused it (too large, no state), the others committed.

    The group commit of `collab.commits`: one commit, one WAL flush, for every room of the process that
    had updates waiting. Durability before relay holds for each of them.
    """
    if connection.vendor != "postgresql":
        return [_append_one_refusable(document_id, items) for document_id, items in groups]
    for attempt in range(3):
        try:
            lasts = _append_many_in_one_statement(groups)
            break
        except OperationalError as error:  # a deadlock with another process's group: PostgreSQL chose us
            if attempt == 2 or getattr(error.__cause__, "sqlstate", "") != "40P01":
                raise
    results: list[list[int] | Exception] = []
    for document_id, items in groups:
        last = lasts.get(str(document_id))
        if last is None:
            results.append(_refusal(document_id))
        else:
            results.append(list(range(last - len(items) + 1, last + 1)))
    return results


def _append_one_refusable(document_id, items) -> list[int] | Exception:
    try:
        return append_updates(document_id, items)
    except (DocumentTooLargeError, CollabState.DoesNotExist) as error:
        return error


def _refusal(document_id) -> Exception:
    if CollabState.objects.filter(document_id=document_id).exists():
        return DocumentTooLargeError()
    return CollabState.DoesNotExist(f"No collaborative state for {document_id}.")


def _append_many_in_one_statement(groups) -> dict[str, int]:
    """PostgreSQL: lock the documents' state rows in id order (two processes' groups cannot deadlock on
    them), allocate every document's seqs and insert every row, in one statement; `{document id: last seq}`
    of the documents accepted (a document over the size limit is left out, its rows not inserted)."""
    sql = with_tables(
        """
        WITH input AS (
            SELECT item.document_id, item.update, item.user_id, item.ord
            FROM unnest(%(documents)s::uuid[], %(updates)s::bytea[], %(users)s::uuid[])
                 WITH ORDINALITY AS item(document_id, update, user_id, ord)
        ), counts AS (
            SELECT document_id, count(*) AS n, sum(length(update)) AS size FROM input GROUP BY document_id
        ), locked AS (
            SELECT document_id FROM {state} WHERE document_id = ANY(%(ids)s::uuid[])
            ORDER BY document_id FOR UPDATE
        ), state AS (
            UPDATE {state} AS s SET last_seq = s.last_seq + c.n, size_bytes = s.size_bytes + c.size, updated_at = now()
            FROM locked JOIN counts AS c USING (document_id)
            WHERE s.document_id = locked.document_id AND s.size_bytes + c.size <= %(limit)s
            RETURNING s.document_id, s.last_seq, c.n
        ), inserted AS (
            INSERT INTO {updates} (document_id, seq, update, user_id, created_at)
            SELECT input.document_id,
                   state.last_seq - state.n + row_number() OVER (PARTITION BY input.document_id ORDER BY input.ord),
                   input.update, input.user_id, now()
            FROM input JOIN state USING (document_id)
        )
        SELECT document_id::text, last_seq FROM state
    """,
        state=CollabState,
        updates=CollabUpdate,
    )
    documents, updates, users = [], [], []
    for document_id, items in groups:
        for update, user in items:
            documents.append(str(document_id))
            updates.append(update)
            users.append(str(user) if user else None)
    params = {"documents": documents, "updates": updates, "users": users, "limit": MAX_STATE_BYTES,
              "ids": [str(document_id) for document_id, _ in groups]}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return dict(cursor.fetchall())


def last_seq(document_id) -> int:
    """The highest allocated update seq of a document (0 without state)."""
    return CollabState.objects.filter(document_id=document_id).values_list("last_seq", flat=True).first() or 0


def needs_compaction(document_id) -> bool:
    """More than 500 pending rows or 1 MiB of them."""
    record = CollabState.objects.filter(document_id=document_id).first()
    if record is None:
        return False
    count, size = pending_updates(document_id, record.state_seq)
    return count > COMPACT_ROWS or size > COMPACT_BYTES


@transaction.atomic
def compact(document_id) -> int:
    """Merge the state and its updates into one state; returns how many update rows were merged."""
    record = CollabState.objects.select_for_update().filter(document_id=document_id).first()
    if record is None:
        return 0
    rows = list(
        CollabUpdate.objects.filter(document_id=document_id, seq__gt=record.state_seq, seq__lte=record.last_seq)
        .order_by("seq")
        .values_list("seq", "update")
    )
    if not rows:
        return 0
    parts = ([bytes(record.state)] if record.state else []) + [bytes(update) for _, update in rows]
    merged = pycrdt.merge_updates(*parts) if len(parts) > 1 else parts[0]
    # Re-encoding through a document drops superseded items' content: a compact state. Items still pending
    # (they depend on items no update has brought yet) stay in it as they were in the log: a later update
    # may complete them, and is checked against them (collab.protocol.apply_checked).
    doc = PendingDoc()
    doc.apply_update(merged)
    state = doc.get_update()
    CollabState.objects.filter(document_id=document_id).update(
        state=state, state_seq=rows[-1][0], size_bytes=len(state)
    )
    CollabUpdate.objects.filter(document_id=document_id, seq__lte=rows[-1][0]).delete()
    return len(rows)


@transaction.atomic
def apply_update(document_id, update: bytes, *, user_id) -> list[int]:
    """Accept one update outside a room (POST yjs-state): persist it; the caller broadcasts after commit."""
    ensure_state(document_id)
    return append_updates(document_id, [(update, user_id)])


@contextmanager
def upkeep_lock(document_id) -> Iterator[bool]:
    """Yields whether this process now holds the document's upkeep lock, which shares catch-up work between
    processes: one held elsewhere is not waited for, its holder is doing the job.

    A PostgreSQL advisory lock of the database session, taken without waiting and released on leaving
    (or when the session ends, a process killed included); no row is locked, so writers never wait for
    it. SQLite serves one process: always held.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    key = [UPKEEP_LOCK_SPACE, str(document_id)]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", key)
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)
