"""GET auth/me/export: the documents the caller created (with content and versions), their files with 1-hour links (SPEC §3.1)."""

import json
import time
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import signing

from documents import storage
from documents.models import Attachment, ContextFile, Document
from documents.services.attachments import attachment_delete
from documents.services.documents import document_delete, document_update
from documents.services.versions import version_create_manual
from documents.tests.attachments import fetch, image_bytes, uploaded
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import client_for
from documents.tests.test_api_context_files import add, sha, stored

pytestmark = pytest.mark.django_db


def _export(user) -> dict:
    response = client_for(user).get("/api/v1/auth/me/export")
    assert response.status_code == 200
    return json.loads(response.content)


def test_api_auth_export_holds_the_callers_documents_with_content_and_versions(team):
    editor, owner = team.user("editor"), team.user("owner")
    mine = DocumentFactory(workspace=team.workspace, created_by=editor, title="Mine", content="# One\n", tags=["a"])
    version_create_manual(document=mine, actor=editor, tags=["a"], description="checkpoint")
    mine = document_update(actor=owner, document=mine, data={"content": "# One\n\nTwo.\n"}, if_match="*")
    trashed = DocumentFactory(workspace=team.workspace, created_by=editor, title="Old", content="gone soon")
    document_delete(actor=owner, document=trashed)
    theirs = DocumentFactory(workspace=team.workspace, created_by=owner, title="Theirs", content="# Secret\n")
    document_update(actor=editor, document=theirs, data={"content": "# Secret, edited\n"}, if_match="*")

    export = _export(editor)

    documents = {entry["id"]: entry for entry in export["documents"]}
    assert set(documents) == {str(mine.pk), str(trashed.pk)}
    assert documents[str(mine.pk)]["content"] == "# One\n\nTwo.\n"
    assert documents[str(mine.pk)]["content_hash"] == Document.objects.get(pk=mine.pk).content_hash
    assert documents[str(mine.pk)]["tags"] == ["a"] and documents[str(mine.pk)]["title"] == "Mine"
    assert documents[str(trashed.pk)]["deleted"] is True and documents[str(trashed.pk)]["content"] == "gone soon"

    versions = [(v["document_id"], v["version_number"], v["source"], v["content"]) for v in export["versions"]]
    by_document = {}  # grouped by document, each one's versions in number order
    for document_id, number, source, content in versions:
        by_document.setdefault(document_id, []).append((number, source, content))
    assert by_document == {
        str(mine.pk): [(1, "auto", "# One\n"), (2, "manual", "# One\n"), (3, "auto", "# One\n\nTwo.\n")],
        str(trashed.pk): [(1, "auto", "gone soon")],
    }
    assert "# Secret" not in json.dumps(export)  # another author's document and its versions stay out


def test_api_auth_export_sections_come_from_every_app_in_order(team):
    export = _export(team.user("viewer"))
    assert list(export) == [
        "format_version", "exported_at", "profile", "memberships", "documents", "versions", "comments", "grants",
        "attachments", "context_files", "sessions", "api_keys", "usage",
    ]
    assert export["documents"] == [] and export["versions"] == []
    assert export["attachments"] == [] and export["context_files"] == []
    assert [m["workspace_id"] for m in export["memberships"]] == [str(team.workspace.pk)]


def _lifetime(url: str) -> float:
    """Seconds a download URL stays valid: S3's X-Amz-Expires, or the local grant's own expiry."""
    if url.startswith("http"):
        return int(parse_qs(urlparse(url).query)["X-Amz-Expires"][0])
    return storage.local_download_grant(url.rsplit("/", 1)[1])["x"] - time.time()


def test_api_auth_export_holds_the_callers_files_with_one_hour_links(team, document, store_mode):
    editor, owner = team.user("editor"), team.user("owner")
    client = team.client("editor")
    photo = uploaded(client, store_mode, team.workspace, document)
    notes = uploaded(client, store_mode, team.workspace, document, b"notes", "text/plain", "notes.txt")
    attachment_delete(actor=owner, attachment=Attachment.objects.get(pk=notes["attachment_id"]))
    uploaded(team.client("owner"), store_mode, team.workspace, document, image_bytes(), "image/png", "theirs.png")
    glossary = stored(client, store_mode, document, b"# Terms\n")
    local = add(client, document, b"local", file_name="local.txt", file_type="txt", storage_mode="local").json()
    add(team.client("owner"), document, b"owner's", file_name="owners.txt", file_type="txt", storage_mode="local")

    export = _export(editor)

    attachments = {entry["id"]: entry for entry in export["attachments"]}
    assert set(attachments) == {photo["attachment_id"], notes["attachment_id"]}
    entry = attachments[photo["attachment_id"]]
    assert (entry["file_name"], entry["content_type"], entry["processing_status"]) == ("photo.png", "image/png",
                                                                                       "complete")
    assert entry["metadata"] == {"width": 800, "height": 600, "format": "PNG"}
    assert entry["size_bytes"] == len(image_bytes()) and entry["uploaded_by"] == str(editor.pk)
    assert 3590 <= _lifetime(entry["download_url"]) <= 3600
    status, _, content = fetch(entry["download_url"])
    assert status == 200 and content == image_bytes()
    deleted = attachments[notes["attachment_id"]]
    assert deleted["deleted_at"] is not None and deleted["download_url"] is None

    context_files = {entry["id"]: entry for entry in export["context_files"]}
    assert set(context_files) == {glossary["id"], local["context_file"]["id"]}
    entry = context_files[glossary["id"]]
    assert (entry["file_name"], entry["content_hash"], entry["sync_status"]) == ("glossary.md", sha(b"# Terms\n"),
                                                                                 "synced")
    assert entry["created_by"] == str(editor.pk) and entry["document_id"] == str(document.pk)
    assert 3590 <= _lifetime(entry["download_url"]) <= 3600
    status, _, content = fetch(entry["download_url"])
    assert status == 200 and content == b"# Terms\n"
    assert context_files[local["context_file"]["id"]]["download_url"] is None
    assert ContextFile.objects.filter(created_by=owner).count() == 1


def test_local_download_links_keep_their_15_minute_default(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    store = storage.LocalBackend()
    url = store.download_url("attachments/x/y.txt", file_name="y.txt", content_type="text/plain", as_attachment=True)
    assert 890 <= _lifetime(url) <= 900
    longest = store.download_url("a/b.txt", file_name="b.txt", content_type="text/plain", as_attachment=True,
                                 expires=86400)
    assert _lifetime(longest) <= 3600  # capped at the export's hour
    expired = signing.dumps({"k": "a/b.txt", "n": "b.txt", "t": "text/plain", "a": True, "x": int(time.time()) - 1},
                            salt=storage.DOWNLOAD_SALT, compress=True)
    with pytest.raises(signing.BadSignature):
        storage.local_download_grant(expired)
