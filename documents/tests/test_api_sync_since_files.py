"""GET sync/workspaces/{wid}/since: attachment and context-file entries land in their groups (SPEC §3.7, §4)."""

from __future__ import annotations

import pytest

from documents.models import Attachment
from documents.tests.attachments import presign, uploaded
from documents.tests.test_api_context_files import add, sha, stored
from workspaces.tests.helpers import last_seq

pytestmark = pytest.mark.django_db


def _since(client, workspace, cursor: int) -> dict:
    response = client.get(f"/api/v1/sync/workspaces/{workspace.pk}/since", {"cursor": cursor})
    assert response.status_code == 200, response.content
    return response.json()


def test_api_sync_since_groups_attachments_and_context_files(team, document, store_mode):
    client, reader = team.client("editor"), team.client("viewer")
    cursor = last_seq(team.workspace)
    presign(client, team.workspace, data=100, content_type="image/png")  # pending: not synced yet
    assert all(not entries for entries in _since(reader, team.workspace, cursor).values() if isinstance(entries, list))

    photo = uploaded(client, store_mode, team.workspace, document)
    glossary = stored(client, store_mode, document, b"# Terms\n")
    body = _since(reader, team.workspace, cursor)

    assert [(e["operation"], e["entity_id"]) for e in body["attachments"]] == [("create", photo["attachment_id"])]
    data = body["attachments"][0]["data"]
    assert (data["file_name"], data["processing_status"], data["document_id"]) == ("photo.png", "complete",
                                                                                   str(document.pk))
    assert "download_url" not in data
    assert [(e["operation"], e["entity_id"]) for e in body["context_files"]] == [
        ("create", glossary["id"]), ("update", glossary["id"])]
    assert body["context_files"][0]["data"]["sync_status"] == "uploading"
    assert body["context_files"][1]["data"]["content_hash"] == sha(b"# Terms\n")
    assert body["context_files"][1]["data"]["sync_status"] == "synced"
    assert body["documents"] == [] and body["comments"] == []

    cursor = body["cursor"]
    owner = team.client("owner")
    assert owner.delete(f"/api/v1/attachments/{photo['attachment_id']}").status_code == 204
    assert owner.delete(f"/api/v1/context-files/{glossary['id']}").status_code == 204
    local = add(client, document, b"local", file_name="local.txt", file_type="txt", storage_mode="local").json()
    body = _since(reader, team.workspace, cursor)

    assert [(e["operation"], e["entity_id"]) for e in body["attachments"]] == [("delete", photo["attachment_id"])]
    assert body["attachments"][0]["data"]["deleted_at"] is not None
    assert [(e["operation"], e["entity_id"]) for e in body["context_files"]] == [
        ("delete", glossary["id"]), ("create", local["context_file"]["id"])]
    assert body["context_files"][0]["data"]["deleted_at"] is not None
    assert body["cursor"] == last_seq(team.workspace) and body["has_more"] is False
    assert Attachment.objects.get(pk=photo["attachment_id"]).deleted_at is not None
