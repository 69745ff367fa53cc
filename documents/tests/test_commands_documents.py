"""purge_tombstones, prune_versions, reindex_search."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from documents.models import Document, DocumentVersion, Folder
from documents.services.documents import document_create, document_delete, document_update
from documents.services.folders import folder_create, folder_delete
from documents.services.versions import version_create_manual
from sync.models import SyncLog
from workspaces.services.workspaces import workspace_create

pytestmark = pytest.mark.django_db


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def workspace(owner):
    return workspace_create(owner=owner, name="W")


def test_purge_tombstones_removes_only_old_trash_and_keeps_sync_entries(owner, workspace):
    old, recent, live = (document_create(actor=owner, workspace=workspace, data={"title": t}) for t in "abc")
    folder = folder_create(actor=owner, workspace=workspace, data={"name": "F"})
    with time_machine.travel(timezone.now() - dt.timedelta(days=31)):
        document_delete(actor=owner, document=old)
        folder_delete(actor=owner, folder=folder, cascade=False)
    document_delete(actor=owner, document=recent)
    assert "Would purge 1 document(s), 1 folder(s)" in _run("purge_tombstones", "--dry-run")
    assert Document.objects.count() == 3
    _run("purge_tombstones")
    assert set(Document.objects.values_list("title", flat=True)) == {"b", "c"}
    assert not Folder.objects.exists()
    assert SyncLog.objects.filter(entity_id=old.pk, operation="delete").exists()
    with pytest.raises(CommandError):
        call_command("purge_tombstones", "--days", "-1")


def test_prune_versions_keeps_manual_and_one_auto_per_day(owner, workspace):
    start = timezone.now() - dt.timedelta(days=40)
    with time_machine.travel(start, tick=False):
        document = document_create(actor=owner, workspace=workspace, data={"title": "T", "content": "v1"})
    with time_machine.travel(start + dt.timedelta(minutes=11), tick=False):
        document_update(actor=owner, document=document, data={"content": "v2"}, if_match="*")
    with time_machine.travel(start + dt.timedelta(minutes=22), tick=False):
        version_create_manual(document=document, actor=owner, tags=[], description="keep me")
    with time_machine.travel(start + dt.timedelta(minutes=33), tick=False):
        document_update(actor=owner, document=document, data={"content": "v3"}, if_match="*")
    document_update(actor=owner, document=document, data={"content": "recent"}, if_match="*")
    assert document.versions.count() == 5
    assert "Would delete 2 version(s)" in _run("prune_versions", "--dry-run")
    _run("prune_versions")
    kept = list(document.versions.order_by("version_number").values_list("source", "content"))
    assert kept == [("manual", "v2"), ("auto", "v3"), ("auto", "recent")]


def test_reindex_search_rebuilds_vectors(owner, workspace):
    document = document_create(actor=owner, workspace=workspace, data={"title": "Zebra stripes", "content": "x"})
    Document.objects.filter(pk=document.pk).update(search_vector=None)
    output = _run("reindex_search", "--workspace", str(workspace.pk))
    if settings.IS_POSTGRES:
        assert output.startswith("Reindexed 1")
        assert Document.objects.filter(pk=document.pk, search_vector="zebra").exists()
    else:
        assert output.startswith("Reindexed 0")
    with pytest.raises(CommandError):
        call_command("reindex_search", "--workspace", "nope")
    with pytest.raises(CommandError):
        call_command("reindex_search", "--workspace", "00000000-0000-0000-0000-000000000000")


def test_prune_versions_keeps_the_only_auto_version_of_a_day(owner, workspace):
    document = document_create(actor=owner, workspace=workspace, data={"title": "T", "content": "a"})
    with time_machine.travel(timezone.now() + dt.timedelta(days=60)):
        _run("prune_versions", "--keep-days", "0")
    assert DocumentVersion.objects.filter(document=document).count() == 1
