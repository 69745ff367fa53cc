"""The sync log write path: every synced change records its entry here (SPEC §4 "Writing")."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F

from sync.models import SyncLog
from workspaces.models import Workspace


@dataclass(frozen=True)
class ChangeOrigin:
    """Where a change came from, when a device pushed it."""

    device_id: str | None = None
    client_version: str | None = None
    client_change_id: uuid.UUID | None = None


NO_ORIGIN = ChangeOrigin()


def _allocate_seq(workspace_id: uuid.UUID) -> int:
    """Take the next cursor of a workspace; the row stays locked until the transaction ends.

    Holding the lock until commit is what makes entries of one workspace
    become visible in seq order and without gaps (SPEC §4 "Guarantee").
    """
    Workspace.objects.filter(pk=workspace_id).update(sync_seq=F("sync_seq") + 1)
    return Workspace.objects.filter(pk=workspace_id).values_list("sync_seq", flat=True).get()


@transaction.atomic
def sync_log_record(
    *,
    workspace_id: uuid.UUID,
    entity_type: str,
    entity_id: uuid.UUID,
    operation: str,
    actor=None,
    changes: dict | None = None,
    data: dict | None = None,
    content_hash: str | None = None,
    origin: ChangeOrigin = NO_ORIGIN,
) -> SyncLog:
    """Append one entry; call it inside the transaction that makes the change."""
    return SyncLog.objects.create(
        workspace_id=workspace_id,
        seq=_allocate_seq(workspace_id),
        entity_type=entity_type,
        entity_id=entity_id,
        operation=operation,
        changes=changes or {},
        data=data or {},
        content_hash=content_hash,
        changed_by=actor if actor is not None and actor.is_authenticated else None,
        device_id=origin.device_id,
        client_version=origin.client_version,
        client_change_id=origin.client_change_id,
    )


def diff_fields(old: dict, new: dict) -> dict:
    """`{old:{…}, new:{…}}` holding only the fields whose value changed."""
    changed = [key for key in new if old.get(key) != new.get(key)]
    return {"old": {key: old.get(key) for key in changed}, "new": {key: new.get(key) for key in changed}}
