"""purge_sync_log: superseded entries, old tombstones with the horizon, old receipts (SPEC §4, §8)."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from documents.services.documents import document_create, document_delete, document_update
from documents.services.folders import folder_create
from sync.models import SyncLog, SyncPushReceipt
from workspaces.models import Workspace
from workspaces.tests.helpers import assert_problem

pytestmark = pytest.mark.django_db


def _pull_all(client, workspace, cursor=0) -> dict:
    """Bootstrap from `cursor` to the end; the latest data of every entity seen, by (type, id)."""
    state = {}
    while True:
        body = client.get(f"/api/v1/sync/workspaces/{workspace.pk}/since", {"cursor": cursor, "limit": 3}).json()
        entries = sorted((e for key in ("documents", "folders", "comments", "members", "workspace")
                          for e in body[key]), key=lambda e: e["seq"])
        for entry in entries:
            state[entry["entity_id"]] = (entry["operation"], entry["data"])
        cursor = body["cursor"]
        if not body["has_more"]:
            return state


def test_purge_sync_log_keeps_what_a_bootstrap_needs(team):
    owner = team.user("owner")
    kept = document_create(actor=owner, workspace=team.workspace, data={"title": "Kept", "content": "a"})
    for text in ("b", "c", "d"):
        kept = document_update(actor=owner, document=kept, data={"content": text}, if_match="*")
    gone = document_create(actor=owner, workspace=team.workspace, data={"title": "Gone", "content": "x"})
    document_delete(actor=owner, document=gone)
    folder_create(actor=owner, workspace=team.workspace, data={"name": "F"})
    client = team.client("editor")
    before = _pull_all(client, team.workspace)
    entries_before = SyncLog.objects.filter(workspace=team.workspace).count()

    out = StringIO()
    call_command("purge_sync_log", "--dry-run", stdout=out)
    assert "Would delete 4 superseded entries, 0 old tombstones" in out.getvalue()
    assert SyncLog.objects.filter(workspace=team.workspace).count() == entries_before
    call_command("purge_sync_log", stdout=StringIO())

    assert SyncLog.objects.filter(workspace=team.workspace).count() == entries_before - 4
    assert _pull_all(client, team.workspace) == before  # the same state from a fresh bootstrap
    latest = SyncLog.objects.filter(entity_id=kept.pk)
    assert latest.count() == 1 and latest.get().content_hash == kept.content_hash
    assert Workspace.objects.get(pk=team.workspace.pk).sync_horizon == 0  # nothing a cursor could miss


def test_purge_sync_log_old_tombstones_raise_the_horizon(team):
    owner = team.user("owner")
    gone = document_create(actor=owner, workspace=team.workspace, data={"title": "Gone", "content": "x"})
    document_delete(actor=owner, document=gone)
    tombstone = SyncLog.objects.get(entity_id=gone.pk, operation="delete")
    SyncLog.objects.filter(pk=tombstone.pk).update(timestamp=timezone.now() - timedelta(days=91))
    old_cursor = tombstone.seq - 1
    live = document_create(actor=owner, workspace=team.workspace, data={"title": "Live", "content": "y"})
    SyncPushReceipt.objects.create(user=owner, workspace=team.workspace, change_id=live.pk, result={})
    SyncPushReceipt.objects.update(created_at=timezone.now() - timedelta(days=31))

    out = StringIO()
    call_command("purge_sync_log", stdout=out)
    assert "1 old tombstones and 1 push receipts; 1 workspace horizon(s) raised" in out.getvalue()
    assert Workspace.objects.get(pk=team.workspace.pk).sync_horizon == tombstone.seq
    client = team.client("viewer")
    response = client.get(f"/api/v1/sync/workspaces/{team.workspace.pk}/since", {"cursor": old_cursor})
    assert_problem(response, 410, "cursor-expired")
    state = _pull_all(client, team.workspace)
    assert str(live.pk) in state and str(gone.pk) not in state
    out = StringIO()
    call_command("purge_sync_log", stdout=out)  # idempotent
    assert "Deleted 0 superseded entries, 0 old tombstones and 0 push receipts" in out.getvalue()
