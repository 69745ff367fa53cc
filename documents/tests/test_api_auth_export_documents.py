"""GET auth/me/export: the documents the caller created, with content, and their versions (SPEC §3.1)."""

import json

import pytest

from documents.models import Document
from documents.services.documents import document_delete, document_update
from documents.services.versions import version_create_manual
from documents.tests.factories import DocumentFactory
from documents.tests.helpers import client_for

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
        "sessions",
    ]
    assert export["documents"] == [] and export["versions"] == []
    assert [m["workspace_id"] for m in export["memberships"]] == [str(team.workspace.pk)]
