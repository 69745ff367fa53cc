"""The existing client's version history ("snapshots", SPEC §3.9) over versions: documents/{id}/snapshots[...].

Requests as the client's snapshotsClient.ts, snapshotClient.ts and DocumentVersionService.ts send them.
"""

import pytest

from documents.models import Document, DocumentTag, DocumentVersion
from documents.services.versions import version_create_manual
from documents.tests.factories import DocumentFactory, FolderFactory
from documents.tests.helpers import (
    ACTORS,
    EDITORS,
    MISSING_ID,
    READERS,
    assert_problem,
    assert_refused,
    assert_validation,
    doc_url,
    fresh,
    is_timestamp,
    outcome,
    sha,
    state,
)

pytestmark = pytest.mark.django_db

SNAPSHOT_FIELDS = {
    "id", "document_id", "version_number", "title", "created_by", "created_at", "type", "note", "size_bytes",
    "html_preview", "html_preview_truncated",
}
CLIENT_SAVE_POINT = {"yjs_state_base64": "AAA=", "html_preview": "<p>ignored</p>"}


@pytest.fixture
def history(team, document):
    """The document's version 1 (auto, by the owner) and a manual version 2 by the editor."""
    v2 = version_create_manual(document=document, actor=team.user("editor"), tags=[], description="Milestone")
    return document.versions.get(version_number=1), v2


def _restore(client, document, version, **body):
    return client.post(doc_url(document, f"/snapshots/{version.pk}/restore"), body, format="json")


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_snapshots_list_by_actor(team, document, history, actor):
    response = team.client(actor).get(doc_url(document, "/snapshots?limit=50&offset=0"))
    expected = outcome(actor, READERS)
    if expected != 200:
        assert_refused(response, expected)
        return
    body = response.json()
    assert (body["total"], body["limit"], body["offset"]) == (2, 50, 0)
    first, second = body["snapshots"]
    assert set(first) == SNAPSHOT_FIELDS
    v1, v2 = history
    assert (first["id"], first["version_number"], first["type"], first["note"]) == (str(v2.pk), 2, "manual", "Milestone")
    assert first["created_by"] == str(team.user("editor").pk) and is_timestamp(first["created_at"])
    assert (second["id"], second["type"], second["note"]) == (str(v1.pk), "auto", None)
    assert second["size_bytes"] == len(document.content.encode()) and second["document_id"] == str(document.pk)
    assert second["html_preview"] == "<h1>Plan</h1>\n<p>First line.</p>\n"
    assert second["html_preview_truncated"] is False


def test_client_api_snapshots_list_pages_and_bad_query(team, document, history):
    client = team.client("viewer")
    page = client.get(doc_url(document, "/snapshots?limit=1&offset=1")).json()
    assert [s["version_number"] for s in page["snapshots"]] == [1] and page["total"] == 2
    assert_validation(client.get(doc_url(document, "/snapshots?limit=0")), "limit")
    assert_validation(client.get(doc_url(document, "/snapshots?offset=x")), "offset")
    assert_refused(client.get(doc_url(MISSING_ID, "/snapshots")), 404)


def test_client_api_snapshots_list_previews_only_the_start_of_long_versions(team):
    long_text = "word " * 5000  # 25 000 characters, above the preview's 16 KiB
    document = DocumentFactory(workspace=team.workspace, content=long_text)
    listed = team.client("viewer").get(doc_url(document, "/snapshots")).json()["snapshots"][0]
    assert listed["html_preview_truncated"] is True and len(listed["html_preview"]) < len(long_text)
    detail = team.client("viewer").get(doc_url(document, f"/snapshots/{listed['id']}")).json()
    assert detail["html_preview"] == f"<p>{long_text.strip()}</p>\n" and detail["html_preview_truncated"] is False


def test_client_api_snapshots_html_is_safe(team):
    text = '# T\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) [ok](https://e.org)\n'
    document = DocumentFactory(workspace=team.workspace, content=text)
    html = team.client("viewer").get(doc_url(document, "/snapshots")).json()["snapshots"][0]["html_preview"]
    assert "<script>" not in html and "&lt;script&gt;" in html and 'href="javascript' not in html
    assert '<a href="https://e.org" rel="nofollow noopener">ok</a>' in html


def test_client_api_snapshots_grantee_reads_history(team, document, history, outsider):
    _, client, _ = outsider("grant-viewer")
    assert client.get(doc_url(document, "/snapshots")).json()["total"] == 2
    _, link_client, headers = outsider("link-view")
    assert_refused(link_client.get(doc_url(document, "/snapshots"), **headers), 404)


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_snapshots_create_manual_by_actor(team, document, actor):
    before = state(team.workspace)
    body = {**CLIENT_SAVE_POINT, "note": "Manual save point", "type": "manual"}
    response = team.client(actor).post(doc_url(document, "/snapshots"), body, format="json")
    expected = outcome(actor, EDITORS, ok=201)
    if expected != 201:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    created = response.json()
    version = DocumentVersion.objects.get(pk=created["snapshot_id"])
    assert created["success"] is True and created["size_bytes"] == version.size_bytes and is_timestamp(created["created_at"])
    assert (version.version_number, version.source, version.change_description) == (2, "manual", "Manual save point")
    assert version.created_by == team.user(actor) and version.content_hash == fresh(document).content_hash


def test_client_api_snapshots_automatic_save_point_adds_no_version(team, document):
    client = team.client("editor")
    body = {**CLIENT_SAVE_POINT, "note": None, "type": "auto"}  # what snapshotClient.ts sends after a push
    response = client.post(doc_url(document, "/snapshots"), body, format="json")
    assert response.status_code == 200
    assert response.json()["snapshot_id"] == str(document.versions.get().pk) and document.versions.count() == 1
    # Content the versions do not hold yet (written around the services): an auto version is recorded.
    Document.objects.filter(pk=document.pk).update(content="changed", content_hash=sha("changed"), size_bytes=7)
    response = client.post(doc_url(document, "/snapshots"), body, format="json")
    assert response.status_code == 201
    version = DocumentVersion.objects.get(pk=response.json()["snapshot_id"])
    assert (version.version_number, version.source, version.content) == (2, "auto", "changed")


def test_client_api_snapshots_automatic_save_point_of_an_empty_document(team):
    document = DocumentFactory(workspace=team.workspace, empty=True)
    response = team.client("owner").post(doc_url(document, "/snapshots"), {"type": "auto"}, format="json")
    assert response.status_code == 200 and response.json()["snapshot_id"] is None
    assert not document.versions.exists()


@pytest.mark.parametrize("body", [{"type": "weekly"}, {"note": 5}, {"note": "x" * 1001}, ["manual"]])
def test_client_api_snapshots_create_bad_input(team, document, body):
    response = team.client("owner").post(doc_url(document, "/snapshots"), body, format="json")
    assert_problem(response, 400, "validation-error")
    assert document.versions.count() == 1


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_snapshots_retrieve_and_download_by_actor(team, document, history, actor):
    v1, _ = history
    detail = team.client(actor).get(doc_url(document, f"/snapshots/{v1.pk}"))
    download = team.client(actor).get(doc_url(document, f"/snapshots/{v1.pk}/download"))
    expected = outcome(actor, READERS)
    if expected != 200:
        assert_refused(detail, expected)
        assert_refused(download, expected)
        return
    assert set(detail.json()) == SNAPSHOT_FIELDS and detail.json()["id"] == str(v1.pk)
    assert download.status_code == 200 and download.content == v1.content.encode()
    assert download["Content-Type"] == "text/markdown; charset=utf-8"
    assert download["Content-Disposition"] == 'attachment; filename="design-notes-v1.md"'


def test_client_api_snapshots_unknown_ids_are_404(team, document, history):
    other = DocumentFactory(workspace=team.workspace)
    foreign = other.versions.get()
    client = team.client("owner")
    for sid in (MISSING_ID, "not-a-uuid", foreign.pk):
        assert_refused(client.get(doc_url(document, f"/snapshots/{sid}")), 404)
        assert_refused(client.get(doc_url(document, f"/snapshots/{sid}/download")), 404)
        assert_refused(client.post(doc_url(document, f"/snapshots/{sid}/restore"), {"action": "overwrite"},
                                   format="json"), 404)


@pytest.mark.parametrize("actor", ACTORS)
def test_client_api_snapshots_restore_overwrite_by_actor(team, document, history, actor):
    document_id = document.pk
    v1, _ = history
    client = team.client("owner")
    client.patch(doc_url(document), {"content": "# Rewritten\n"}, format="json", HTTP_IF_MATCH="*")
    before = state(team.workspace)
    response = _restore(team.client(actor), document, v1, action="overwrite", force=True)
    expected = outcome(actor, EDITORS)
    if expected != 200:
        assert_refused(response, expected)
        assert state(team.workspace) == before
        return
    assert response.json() == {
        "success": True, "action": "overwrite", "new_document_id": None,
        "message": "The document now holds version 1 again.",
    }
    restored = Document.objects.get(pk=document_id)
    assert restored.content == v1.content
    latest = restored.versions.order_by("-version_number").first()
    assert (latest.source, latest.restored_from) == ("restore", 1)


def test_client_api_snapshots_restore_as_new_document(team, history):
    folder = FolderFactory(workspace=team.workspace)
    document = DocumentFactory(workspace=team.workspace, folder=folder, tags=["alpha"], content="# Old\n")
    version = document.versions.get()
    # As DocumentVersionService.restoreVersion sends it.
    body = {"action": "new_document", "title": "Restored from Version 1", "force": False}
    response = _restore(team.client("editor"), document, version, **body)
    assert response.status_code == 201
    created = Document.objects.get(pk=response.json()["new_document_id"])
    assert response.json()["success"] is True and response.json()["action"] == "new_document"
    assert response["Location"] == f"/api/v1/documents/{created.pk}"
    assert (created.title, created.content, created.type) == ("Restored from Version 1", "# Old\n", "markdown")
    assert (created.workspace_id, created.folder_id, created.created_by) == (team.workspace.pk, folder.pk,
                                                                            team.user("editor"))
    assert list(DocumentTag.objects.filter(document=created).values_list("tag", flat=True)) == ["alpha"]
    assert created.versions.count() == 1 and fresh(document).content == "# Old\n"
    untitled = _restore(team.client("owner"), document, version, action="new_document", title=None)
    assert Document.objects.get(pk=untitled.json()["new_document_id"]).title == f"{document.title} (restored)"


@pytest.mark.parametrize("actor", ["commenter", "viewer"])
def test_client_api_snapshots_restore_as_new_needs_create(team, document, actor):
    before = state(team.workspace)
    response = _restore(team.client(actor), document, document.versions.get(), action="new_document", title="X")
    assert_refused(response, 403)
    assert state(team.workspace) == before


def test_client_api_snapshots_grantee_editor_overwrites_but_cannot_create(team, document, outsider):
    _, client, _ = outsider("grant-editor")
    version = document.versions.get()
    assert_refused(_restore(client, document, version, action="new_document", title="Copy"), 403)
    assert _restore(client, document, version, action="overwrite").status_code == 200
    assert Document.objects.filter(workspace=team.workspace).count() == 1


@pytest.mark.parametrize("body", [{"action": "merge"}, {"action": "new_document", "title": ""},
                                  {"action": "new_document", "title": "x" * 501}])
def test_client_api_snapshots_restore_bad_input(team, document, body):
    before = state(team.workspace)
    assert_problem(_restore(team.client("owner"), document, document.versions.get(), **body), 400, "validation-error")
    assert state(team.workspace) == before
