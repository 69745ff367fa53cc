"""GET attachments/{id} and GET context-files/{id} count the read: last_accessed_at, download_count / access_count."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from documents.models import Attachment, ContextFile
from documents.tests.attachments import uploaded
from documents.tests.test_api_context_files import stored

pytestmark = pytest.mark.django_db


def _counting_updates(context: CaptureQueriesContext, table: str) -> list[str]:
    return [q["sql"] for q in context.captured_queries if q["sql"].startswith(f'UPDATE "{table}"')]


def test_api_attachments_retrieve_counts_downloads(team, document, store_mode):
    body = uploaded(team.client("editor"), store_mode, team.workspace, document)
    row = Attachment.objects.get(pk=body["attachment_id"])
    assert (row.download_count, row.last_accessed_at) == (0, None)
    reader = team.client("viewer")

    with CaptureQueriesContext(connection) as queries:
        assert reader.get(f"/api/v1/attachments/{row.pk}").status_code == 200
    updates = _counting_updates(queries, "documents_attachment")
    assert len(updates) == 1 and '"download_count" = ("documents_attachment"."download_count" + 1)' in updates[0]
    row.refresh_from_db()
    first_access = row.last_accessed_at
    assert row.download_count == 1 and first_access is not None

    assert reader.get(f"/api/v1/attachments/{row.pk}").status_code == 200
    row.refresh_from_db()
    assert row.download_count == 2 and row.last_accessed_at >= first_access


def test_api_attachments_hidden_reads_count_nothing(team, document, store_mode):
    body = uploaded(team.client("editor"), store_mode, team.workspace, document)
    assert team.client("non_member").get(f"/api/v1/attachments/{body['attachment_id']}").status_code == 404
    assert Attachment.objects.get(pk=body["attachment_id"]).download_count == 0


def test_api_context_files_retrieve_counts_reads_without_touching_updated_at(team, document, store_mode):
    body = stored(team.client("editor"), store_mode, document)
    row = ContextFile.objects.get(pk=body["id"])
    updated_at = row.updated_at
    reader = team.client("viewer")

    with CaptureQueriesContext(connection) as queries:
        assert reader.get(f"/api/v1/context-files/{row.pk}").status_code == 200
    updates = _counting_updates(queries, "documents_contextfile")
    assert len(updates) == 1 and '"access_count" = ("documents_contextfile"."access_count" + 1)' in updates[0]
    assert reader.get(f"/api/v1/context-files/{row.pk}").status_code == 200
    row.refresh_from_db()
    assert row.access_count == 2 and row.last_accessed_at is not None
    assert row.updated_at == updated_at
    assert team.client("non_member").get(f"/api/v1/context-files/{row.pk}").status_code == 404
    row.refresh_from_db()
    assert row.access_count == 2
