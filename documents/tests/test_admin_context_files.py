"""The ContextFile admin: filters, search, read-only rows, re-verify object and delete object, in both stores."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from documents import storage
from documents.models import ContextFile
from documents.tests.factories import DocumentFactory
from documents.tests.test_api_context_files import add, sha, stored
from sync.models import SyncLog
from workspaces.models import Workspace

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/documents/contextfile/"
GLOSSARY = b"# Glossary\n\nTerms.\n"
DATA = b"a,b\n1,2\n"


def _row(body: dict) -> ContextFile:
    return ContextFile.objects.get(pk=body["id"] if "id" in body else body["context_file"]["id"])


def _action(client, action, rows):
    return client.post(CHANGELIST, {"action": action, "_selected_action": [str(row.pk) for row in rows]}, follow=True)


def _used(workspace) -> int:
    return Workspace.objects.get(pk=workspace.pk).storage_used_bytes


def _exists(key: str) -> bool:
    return storage.backend().head(key) is not None


def test_admin_context_files_search_filters_and_read_only(support_client, team, document, store_mode):
    glossary = _row(stored(team.client("editor"), store_mode, document, GLOSSARY, file_name="glossary.md"))
    local = _row(add(team.client("editor"), document, DATA, file_name="data.csv", file_type="csv",
                     storage_mode="local").json())

    def listed(**query) -> set[str]:
        page = support_client.get(CHANGELIST, query)
        assert page.status_code == 200
        return {name for name in ("glossary.md", "data.csv") if name in page.content.decode()}

    assert listed() == {"glossary.md", "data.csv"}
    assert listed(q="data") == {"data.csv"}
    assert listed(q=sha(GLOSSARY)) == {"glossary.md"}
    assert listed(q="Team Space") == {"glossary.md", "data.csv"}
    assert listed(q=str(team.workspace.pk)) == {"glossary.md", "data.csv"}
    assert listed(sync_status__exact="local_only") == {"data.csv"}
    assert listed(sync_status__exact="synced") == {"glossary.md"}
    assert listed(storage_mode__exact="s3") == {"glossary.md"}
    assert listed(storage_mode__exact="hybrid") == set()
    detail = support_client.get(f"{CHANGELIST}{glossary.pk}/change/")
    assert detail.status_code == 200 and glossary.content_hash in detail.content.decode()
    assert b'name="_save"' not in detail.content  # read-only: no save button
    assert support_client.post(f"{CHANGELIST}{local.pk}/change/", {"file_name": "x.csv"}).status_code == 403
    assert support_client.get(f"{CHANGELIST}add/").status_code == 403
    assert ContextFile.objects.get(pk=local.pk).file_name == "data.csv"


def test_admin_context_files_reverify_puts_missing_and_wrong_objects_back_to_pending(
    support_client, team, document, store_mode, django_capture_on_commit_callbacks
):
    client = team.client("editor")
    healthy = _row(stored(client, store_mode, document, GLOSSARY, file_name="glossary.md"))
    lost = _row(stored(client, store_mode, document, DATA, file_name="data.csv", file_type="csv"))
    # a second row of the same bytes on another document shares the lost object
    other_document = DocumentFactory(workspace=team.workspace, title="Other")
    twin = _row(add(client, other_document, DATA, file_name="data.csv", file_type="csv").json())
    assert twin.sync_status == "synced" and twin.s3_key == lost.s3_key
    altered = _row(stored(client, store_mode, document, b"0123456789", file_name="ten.txt", file_type="txt"))
    store = storage.backend()
    store.delete(lost.s3_key)
    store.put(altered.s3_key, b"9876543210", "text/plain")  # same size, other bytes
    used = _used(team.workspace)

    with django_capture_on_commit_callbacks(execute=True):
        page = _action(support_client, "reverify_object", [healthy, lost, altered]).content.decode()

    assert "Re-verified 3 context file(s); 2 failed." in page
    assert "back to pending: The stored object is missing." in page
    for row in (healthy, lost, twin, altered):
        row.refresh_from_db()
    assert healthy.sync_status == "synced" and _exists(healthy.s3_key)
    assert (lost.sync_status, twin.sync_status, altered.sync_status) == ("pending", "pending", "pending")
    assert not _exists(altered.s3_key)  # wrong bytes go, as a failed confirm deletes them
    assert _used(team.workspace) == used - len(DATA) - 10  # the shared object was charged once
    for row in (lost, twin, altered):
        entry = SyncLog.objects.filter(entity_id=row.pk).latest("seq")
        assert (entry.operation, entry.origin, entry.data["sync_status"]) == ("update", "admin", "pending")

    page = _action(support_client, "reverify_object", [lost]).content.decode()
    assert "Skipped 1 selected row(s): not synced to the store, or deleted." in page
    assert _used(team.workspace) == used - len(DATA) - 10


def test_admin_context_files_delete_object_goes_through_the_delete_service(
    support_client, team, document, store_mode, django_capture_on_commit_callbacks
):
    client = team.client("editor")
    first = _row(stored(client, store_mode, document, GLOSSARY, file_name="glossary.md"))
    other_document = DocumentFactory(workspace=team.workspace, title="Other")
    second = _row(add(client, other_document, GLOSSARY, file_name="glossary.md").json())
    assert _used(team.workspace) == len(GLOSSARY)

    with django_capture_on_commit_callbacks(execute=True):
        page = _action(support_client, "delete_object", [first]).content.decode()
    assert "Deleted 1 context file(s)." in page
    first.refresh_from_db()
    assert first.deleted_at is not None
    assert _exists(first.s3_key) and _used(team.workspace) == len(GLOSSARY)  # the other row still names it
    entry = SyncLog.objects.filter(entity_id=first.pk).latest("seq")
    assert (entry.operation, entry.origin) == ("delete", "admin")

    with django_capture_on_commit_callbacks(execute=True):
        _action(support_client, "delete_object", [first, second])
    assert not _exists(second.s3_key) and _used(team.workspace) == 0
    assert "Skipped 2 selected row(s): already deleted." in _action(
        support_client, "delete_object", [first, second]).content.decode()


def test_admin_context_files_actions_need_support(team, document, store_mode):
    row = _row(stored(team.client("editor"), store_mode, document, GLOSSARY))
    staff = UserFactory(is_staff=True)  # staff, but not in the support group
    client = Client()
    client.force_login(staff)
    _action(client, "delete_object", [row])
    row.refresh_from_db()
    assert row.deleted_at is None and _exists(row.s3_key)
