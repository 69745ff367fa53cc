"""Shapes, URLs, expected outcomes and database snapshots shared by the documents tests."""

from __future__ import annotations

import hashlib

from documents.models import Document, DocumentStar, DocumentTag, DocumentVersion, Folder, Mindmap
from mdcreator.timestamps import utc_timestamp
from sync.models import SyncLog
from workspaces.models import Workspace
from workspaces.tests.helpers import (  # noqa: F401  (re-exported for the tests)
    ACTORS,
    MEMBER_ROLES,
    MISSING_ID,
    ROLE_FLAGS,
    SLUG,
    allowed,
    assert_problem,
    assert_refused,
    assert_validation,
    client_for,
    is_timestamp,
    last_seq,
    outcome,
    sync_entries,
    user_summary,
)

# SPEC §2.3, written out independently of workspaces.access.
READERS = MEMBER_ROLES
CREATORS = EDITORS = ("owner", "admin", "editor")
DELETERS = ("owner", "admin")
DOCUMENT_FIELDS = {
    "id",
    "workspace_id",
    "folder_id",
    "title",
    "type",
    "content",
    "content_hash",
    "size_bytes",
    "word_count",
    "tags",
    "metadata",
    "settings",
    "is_starred",
    "creator",
    "last_editor",
    "view_count",
    "comment_count",
    "version_count",
    "access",
    "created_at",
    "updated_at",
    "last_viewed_at",
    "last_edited_at",
    "deleted",
    "deleted_at",
    "content_type",  # the existing client's names for `type` and `version_count` (SPEC §3.3)
    "version",
}
SUMMARY_FIELDS = DOCUMENT_FIELDS - {"content", "settings", "access", "content_type", "version"}
ACCESS_FIELDS = {"role", "source", "can_edit", "can_comment", "can_delete"}
VERSION_SUMMARY_FIELDS = {
    "id",
    "version_number",
    "title",
    "content_hash",
    "source",
    "change_description",
    "changes_summary",
    "created_by",
    "created_at",
    "size_bytes",
}
VERSION_FIELDS = VERSION_SUMMARY_FIELDS | {"content", "metadata_snapshot", "restored_from"}
FOLDER_FIELDS = {
    "id",
    "workspace_id",
    "parent_id",
    "name",
    "icon",
    "color",
    "position",
    "is_expanded",
    "created_by",
    "created_at",
    "updated_at",
}
FOLDER_TREE_FIELDS = FOLDER_FIELDS | {"document_count", "children"}
SEARCH_RESULT_FIELDS = {"document", "rank", "title_highlight", "snippets"}
DEFAULT_METADATA = {"category": None, "priority": "normal", "status": "draft"}
DEFAULT_SETTINGS = {"editor_mode": "wysiwyg", "ai_enabled": True, "auto_save": True, "collaboration_enabled": True}
MIB = 1024 * 1024
KIB = 1024


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def docs_url(workspace) -> str:
    return f"/api/v1/workspaces/{getattr(workspace, 'pk', workspace)}/documents"


def doc_url(document, suffix: str = "") -> str:
    return f"/api/v1/documents/{getattr(document, 'pk', document)}{suffix}"


def folders_url(workspace) -> str:
    return f"/api/v1/workspaces/{getattr(workspace, 'pk', workspace)}/folders"


def folder_url(folder) -> str:
    return f"/api/v1/folders/{getattr(folder, 'pk', folder)}"


def etag(document) -> str:
    """The strong ETag of a document as stored now."""
    return f'"{Document.objects.values_list("content_hash", flat=True).get(pk=document.pk)}"'


def fresh(document) -> Document:
    return Document.objects.get(pk=document.pk)


def tags_of(document) -> list[str]:
    return list(DocumentTag.objects.filter(document_id=document.pk).order_by("pk").values_list("tag", flat=True))


def state(workspace) -> dict:
    """Every row a documents request could change in a workspace, to prove a refusal changed nothing."""
    workspace_id = getattr(workspace, "pk", workspace)
    documents = Document.objects.filter(workspace_id=workspace_id)
    return {
        "sync_seq": Workspace.objects.values_list("sync_seq", flat=True).get(pk=workspace_id),
        "documents": sorted(documents.values_list(*[f.attname for f in Document._meta.concrete_fields]), key=str),
        "tags": sorted(DocumentTag.objects.filter(document__in=documents).values_list("document_id", "tag"), key=str),
        "stars": sorted(
            DocumentStar.objects.filter(document__in=documents).values_list("user_id", "document_id"), key=str
        ),
        "versions": sorted(
            DocumentVersion.objects.filter(document__in=documents).values_list(*[
                f.attname for f in DocumentVersion._meta.concrete_fields
            ]),
            key=str,
        ),
        "mindmaps": sorted(
            Mindmap.objects.filter(document__in=documents).values_list("document_id", "nodes", "edges", "updated_at"),
            key=str,
        ),
        "folders": sorted(
            Folder.objects.filter(workspace_id=workspace_id).values_list(*[
                f.attname for f in Folder._meta.concrete_fields
            ]),
            key=str,
        ),
        "sync": list(SyncLog.objects.filter(workspace_id=workspace_id).order_by("seq").values_list("seq", "entity_id")),
    }


def ts(value) -> str | None:
    """A datetime as the API renders it (SPEC §0)."""
    return utc_timestamp(value) if value else None


def assert_summary_matches(body: dict, document: Document, *, user) -> None:
    """A DocSummary body equals the stored document as seen by `user`."""
    assert set(body) == SUMMARY_FIELDS, set(body) ^ SUMMARY_FIELDS
    _assert_common(body, document, user=user)


def assert_document_matches(body: dict, document: Document, *, user, role: str) -> None:
    """A Document body equals the stored document as seen by `user` holding `role`."""
    assert set(body) == DOCUMENT_FIELDS, set(body) ^ DOCUMENT_FIELDS
    _assert_common(body, document, user=user)
    assert body["content"] == document.content
    assert body["settings"] == document.settings
    assert (body["content_type"], body["version"]) == (body["type"], body["version_count"])
    flags = ROLE_FLAGS[role]
    assert body["access"] == {
        "role": role,
        "source": "member",
        "can_edit": flags["can_edit_documents"],
        "can_comment": flags["can_comment"],
        "can_delete": flags["can_delete_documents"],
    }


def _assert_common(body: dict, document: Document, *, user) -> None:
    document = fresh(document)
    assert body["id"] == str(document.pk)
    assert body["workspace_id"] == str(document.workspace_id)
    assert body["folder_id"] == (str(document.folder_id) if document.folder_id else None)
    assert (body["title"], body["type"]) == (document.title, document.type)
    assert body["content_hash"] == document.content_hash == sha(document.content)
    assert body["size_bytes"] == document.size_bytes == len(document.content.encode("utf-8"))
    assert body["word_count"] == document.word_count
    assert body["tags"] == tags_of(document)
    assert body["metadata"] == document.metadata
    assert body["is_starred"] is DocumentStar.objects.filter(user=user, document=document).exists()
    assert body["creator"] == user_summary(document.created_by)
    assert body["last_editor"] == (user_summary(document.updated_by) if document.updated_by else None)
    assert body["view_count"] == document.view_count
    assert body["comment_count"] == 0
    assert body["version_count"] == document.versions.count()
    for name in ("created_at", "updated_at", "last_viewed_at", "last_edited_at", "deleted_at"):
        assert body[name] == ts(getattr(document, name)), name
        assert body[name] is None or is_timestamp(body[name])
    assert body["deleted"] is document.deleted


def assert_clean_sync(entry: SyncLog) -> None:
    """A document entry never carries content: only its hash (SPEC §4, §10.3)."""
    assert "content" not in entry.data
    assert "content" not in entry.changes.get("old", {}) and "content" not in entry.changes.get("new", {})
    if entry.entity_type == SyncLog.EntityType.DOCUMENT:
        assert entry.content_hash == entry.data["content_hash"]
        assert len(entry.content_hash) == 64


def assert_consecutive(entries: list[SyncLog], start: int) -> None:
    """Sync entries numbered start+1, start+2, … without a gap."""
    assert [entry.seq for entry in entries] == list(range(start + 1, start + 1 + len(entries)))
