"""The existing client's snapshots, served over versions (SPEC §3.9): save points, copies of a version, HTML.

The client calls a version a "snapshot". A manual save point is a manual version; the
client's automatic save point, sent after every burst of edits, adds no row of its own:
the edit itself already recorded (or coalesced) an auto version (SPEC §3.3), so the version
holding the current content is the answer.
"""

from __future__ import annotations

import html

import nh3
from django.db import transaction
from markdown_it import MarkdownIt

from documents.models import Document, DocumentVersion, Folder
from documents.services.documents import document_create, document_tags
from documents.services.versions import version_create_manual, version_record

# Raw HTML in the markdown stays escaped text; nh3 then keeps its default safe tags (headings, lists,
# tables, ...) and only http, https and mailto links.
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
URL_SCHEMES = frozenset({"http", "https", "mailto"})
TITLE_MAX = 500
RESTORED_SUFFIX = " (restored)"


def snapshot_html(*, document_type: str, content: str) -> str:
    """Safe HTML of a document's content: rendered markdown, or the JSON of a mindmap/presentation as code."""
    if not content:
        return ""
    if document_type != Document.Type.MARKDOWN:
        return f"<pre><code>{html.escape(content)}</code></pre>"
    return nh3.clean(_MARKDOWN.render(content), url_schemes=set(URL_SCHEMES), link_rel="nofollow noopener")


@transaction.atomic
def snapshot_save_point(*, document: Document, actor, automatic: bool, note: str = "") -> tuple[DocumentVersion | None, bool]:
    """A save point of the current content; returns (version, created).

    Manual: a new manual version with `note`. Automatic: the latest version when it holds the current
    content (the usual case: every content write records an auto version), else an auto version under
    the SPEC throttle; an empty document that never had content has none (None).
    """
    if not automatic:
        version = version_create_manual(
            document=document, actor=actor, tags=document_tags(document), description=note
        )
        return version, True
    document = Document.objects.select_for_update(no_key=True).get(pk=document.pk)
    latest = document.versions.order_by("-version_number").first()
    if latest is not None and latest.content_hash == document.content_hash:
        return latest, False
    if latest is None and not document.content:
        return None, False
    return version_record(document=document, actor=actor, tags=document_tags(document)), True


def snapshot_copy_as_document(
    *, actor, workspace, source: Document, version: DocumentVersion, title: str | None
) -> Document:
    """A new document in `workspace` holding a version of `source` (the client's "restore as new").

    Type, tags and metadata come from the version; the folder is the source document's while it is live.
    """
    folder_id = source.folder_id
    if folder_id is not None and not Folder.objects.filter(pk=folder_id, deleted_at__isnull=True).exists():
        folder_id = None
    snapshot = version.metadata_snapshot or {}
    data = {
        "title": title or (version.title[: TITLE_MAX - len(RESTORED_SUFFIX)] + RESTORED_SUFFIX),
        "type": source.type,
        "content": version.content,
        "folder_id": folder_id,
        "tags": [str(tag) for tag in snapshot.get("tags") or []],
        "metadata": snapshot.get("metadata") if isinstance(snapshot.get("metadata"), dict) else None,
    }
    return document_create(actor=actor, workspace=workspace, data=data)
