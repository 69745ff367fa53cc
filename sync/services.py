"""The sync log's writer: every synced change records its entry here, in the caller's transaction (SPEC §4).

A new entity type needs one call: `record_change(entity_type=..., old=..., new=...)`
from the service that changes it. This module knows workspaces by id only and
imports no other domain app, so every app may call it.
"""

from __future__ import annotations

import uuid

from django.db import connection, transaction
from django.utils import timezone

from mdcreator.sql import with_tables
from sync.models import SyncLog
from sync.origin import NO_CLIENT, REST, ClientInfo, Origin

__all__ = ["ClientInfo", "Origin", "diff_fields", "record_change"]


def _workspaces():
    # The log's own foreign key names the workspace model: no import of the workspaces app.
    return SyncLog._meta.get_field("workspace").related_model.objects


def _allocate_seq(workspace_id: uuid.UUID) -> int:
    """Take the next cursor of a workspace; the row stays locked until the transaction ends.

    Holding the lock until commit is what makes entries of one workspace
    become visible in seq order and without gaps (SPEC §4 "Guarantee").
    """
    model = _workspaces().model
    key = model._meta.pk.get_db_prep_value(model._meta.pk.to_python(workspace_id), connection)
    sql = with_tables("UPDATE {workspace} SET sync_seq = sync_seq + 1 WHERE id = %s RETURNING sync_seq", workspace=model)
    with connection.cursor() as cursor:  # one round trip: PostgreSQL and SQLite (3.35+) both return the new value
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        raise _workspaces().model.DoesNotExist(f"No workspace {workspace_id}.")
    return row[0]


def diff_fields(old: dict, new: dict) -> dict:
    """`{old:{…}, new:{…}}` holding only the fields whose value changed."""
    changed = [key for key in new if old.get(key) != new.get(key)]
    return {"old": {key: old.get(key) for key in changed}, "new": {key: new.get(key) for key in changed}}


# No savepoint: it runs inside its writer's transaction (a failure fails that whole change) and is
# called for every synced write, where two more round trips per entry showed in push timings.
@transaction.atomic(savepoint=False)
def record_change(
    *,
    entity_type: str,
    entity_id: uuid.UUID,
    workspace_id: uuid.UUID,
    operation: str,
    old: dict | None,
    new: dict | None,
    actor,
    origin: Origin = REST,
    client: ClientInfo | None = None,
) -> SyncLog:
    """Append one entry: `new` is the entity's serialized form after the change, `old` before it (None on create).

    Call it inside the transaction that makes the change, so the entry commits or rolls
    back with it. Changes hold only the fields that differ; a document's content travels
    as its `content_hash`, never as text (SPEC §10.3).
    """
    new = new or {}
    client = client or NO_CLIENT
    entry = SyncLog(
        workspace_id=workspace_id,
        entity_type=entity_type,
        entity_id=entity_id,
        operation=operation,
        changes=diff_fields(old or {}, new),
        data=new,
        content_hash=new.get("content_hash"),
        changed_by=actor if actor is not None and actor.is_authenticated else None,
        origin=origin.kind,
        device_id=client.device_id,
        client_version=client.client_version,
        client_change_id=client.client_change_id,
        timestamp=timezone.now(),
    )
    _store(entry)
    return entry


def _store(entry: SyncLog) -> None:
    """Insert the entry under its workspace's next cursor, taken under the workspace row's lock."""
    if connection.vendor == "postgresql":
        _insert_with_next_seq(entry)
    else:  # SQLite has no UPDATE inside WITH: two statements
        entry.seq = _allocate_seq(entry.workspace_id)
        entry.save(force_insert=True)


_LOGGED = [field for field in SyncLog._meta.concrete_fields if field.name not in {"id", "seq"}]


def _insert_with_next_seq(entry: SyncLog) -> None:
    """Take the workspace's next cursor and insert the entry under it, in one statement (PostgreSQL)."""
    workspace_model = _workspaces().model
    sql = with_tables(
        "WITH next AS (UPDATE {workspace} SET sync_seq = sync_seq + 1 WHERE id = %s RETURNING sync_seq) "
        "INSERT INTO {log} (seq, {logged}) SELECT next.sync_seq, {logged_values} FROM next RETURNING id, seq",
        workspace=workspace_model,
        log=SyncLog,
        columns={"logged": _LOGGED},
    )
    workspace_key = workspace_model._meta.pk.get_db_prep_value(
        workspace_model._meta.pk.to_python(entry.workspace_id), connection
    )
    values = [field.get_db_prep_save(getattr(entry, field.attname), connection) for field in _LOGGED]
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace_key, *values])
        row = cursor.fetchone()
    if row is None:
        raise workspace_model.DoesNotExist(f"No workspace {entry.workspace_id}.")
    entry.id, entry.seq = row
    entry._state.adding, entry._state.db = False, connection.alias
