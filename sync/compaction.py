"""Compaction of the sync log and its horizon (SPEC §4 "Compaction and horizon", `purge_sync_log`).

Superseded entries (an entity's entries but its latest) can go at any time: the latest entry
carries the entity's whole state, so no cursor loses information. Tombstones past their
retention go too; a cursor below the highest deleted tombstone could then miss a deletion, so
the workspace's `sync_horizon` rises to it and such cursors get 410 `cursor-expired`.
Writers only ever append newer entries, so every step is safe while they run; work is done in
batches of ids, each in its own short transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from sync.models import SyncLog, SyncPushReceipt
from workspaces.models import Workspace

BATCH = 5000


@dataclass
class Report:
    """What a compaction did (or, in a dry run, would do)."""

    superseded: int = 0
    tombstones: int = 0
    receipts: int = 0
    horizons: dict = field(default_factory=dict)  # workspace id -> new horizon


def _superseded():
    later = SyncLog.objects.filter(
        workspace_id=OuterRef("workspace_id"), entity_type=OuterRef("entity_type"), entity_id=OuterRef("entity_id"),
        seq__gt=OuterRef("seq"),
    )
    return SyncLog.objects.filter(Exists(later))


def _delete_in_batches(queryset, *, dry_run: bool, progress: Callable[[str], None], label: str) -> int:
    if dry_run:
        return queryset.count()
    done = 0
    while True:
        ids = list(queryset.order_by("id").values_list("id", flat=True)[:BATCH])
        if not ids:
            return done
        with transaction.atomic():
            done += queryset.model.objects.filter(id__in=ids).delete()[0]
        progress(f"{label}: {done} deleted")


def _old_tombstones(days: int):
    cutoff = timezone.now() - timedelta(days=days)
    return SyncLog.objects.filter(operation=SyncLog.Operation.DELETE, timestamp__lt=cutoff)


def _raise_horizons(tombstones, *, dry_run: bool) -> dict:
    """Each workspace's horizon becomes its highest deleted tombstone seq, before the tombstones go."""
    highest = dict(tombstones.values("workspace_id").annotate(top=Max("seq")).values_list("workspace_id", "top"))
    if not dry_run:
        for workspace_id, top in highest.items():
            Workspace.objects.filter(pk=workspace_id, sync_horizon__lt=top).update(sync_horizon=top)
    return highest


def compact_sync_log(
    *, tombstone_days: int = 90, receipt_days: int = 30, dry_run: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> Report:
    """Delete superseded entries, old tombstones (raising horizons first) and old push receipts."""
    report = Report()
    report.superseded = _delete_in_batches(_superseded(), dry_run=dry_run, progress=progress, label="superseded")
    tombstones = _old_tombstones(tombstone_days)
    report.horizons = _raise_horizons(tombstones, dry_run=dry_run)
    report.tombstones = _delete_in_batches(tombstones, dry_run=dry_run, progress=progress, label="tombstones")
    receipts = SyncPushReceipt.objects.filter(created_at__lt=timezone.now() - timedelta(days=receipt_days))
    report.receipts = _delete_in_batches(receipts, dry_run=dry_run, progress=progress, label="receipts")
    return report

