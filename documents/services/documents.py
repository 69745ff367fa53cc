"""Documents: create, update with preconditions, delete, undelete, views, stars (SPEC §3.3).

Every content write goes through `_apply`, so versions, the mindmap
projection, the search vector and the sync log stay in one transaction.
"""

from __future__ import annotations

import base64
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.serializers import user_summary
from collab import bridge
from documents.content import (
    EMPTY_CONTENT,
    check_json_field,
    content_hash,
    normalize_tags,
    validate_content,
    word_count,
)
from documents.errors import EditConflictError, IdExistsError, NotDeletedError, PreconditionRequiredError
from documents.etags import etag_matches
from documents.models import (
    Document,
    DocumentStar,
    DocumentTag,
    DocumentVersion,
    Folder,
    Mindmap,
    default_document_metadata,
    default_document_settings,
)
from documents.services.search_index import search_index_refresh, search_vector_of
from documents.services.versions import version_record
from mdcreator.errors import NotFoundError, ValidationProblem
from mdcreator.timestamps import utc_timestamp
from sync.models import SyncLog
from sync.origin import REST, OriginKind
from sync.services import ClientInfo, Origin, record_change

VIEW_WINDOW_SECONDS = 600
SEARCHED_FIELDS = ("title", "content", "tags")


def document_tags(document: Document) -> list[str]:
    """The document's tags in insertion order."""
    return list(DocumentTag.objects.filter(document=document).order_by("pk").values_list("tag", flat=True))


def document_sync_data(document: Document, tags: list[str]) -> dict:
    """What a sync entry carries for a document: everything but the content itself."""
    return {
        "id": str(document.pk),
        "workspace_id": str(document.workspace_id),
        "folder_id": str(document.folder_id) if document.folder_id else None,
        "title": document.title,
        "type": document.type,
        "content_hash": document.content_hash,
        "size_bytes": document.size_bytes,
        "word_count": document.word_count,
        "tags": tags,
        "metadata": document.metadata,
        "settings": document.settings,
        "deleted": document.deleted,
        "updated_at": utc_timestamp(document.updated_at) if document.updated_at else None,
    }


def _log(document: Document, tags: list[str], operation: str, *, actor, origin: Origin, client, old: dict | None = None):
    record_change(
        entity_type=SyncLog.EntityType.DOCUMENT,
        entity_id=document.pk,
        workspace_id=document.workspace_id,
        operation=operation,
        old=old,
        new=document_sync_data(document, tags),
        actor=actor,
        origin=origin,
        client=client,
    )


def _check_folder(workspace_id, folder_id) -> None:
    if (
        folder_id is not None
        and not Folder.objects.filter(pk=folder_id, workspace_id=workspace_id, deleted_at__isnull=True).exists()
    ):
        raise ValidationProblem({"folder_id": ["No such folder in this workspace."]})


def _set_tags(document: Document, tags: list[str]) -> None:
    DocumentTag.objects.filter(document=document).delete()
    DocumentTag.objects.bulk_create([DocumentTag(document=document, tag=tag) for tag in tags])


def _project_mindmap(document: Document, parsed: dict | None) -> None:
    if document.type != Document.Type.MINDMAP or parsed is None:
        return
    layout = parsed.get("layout") if isinstance(parsed.get("layout"), dict) else {}
    Mindmap.objects.update_or_create(
        document=document,
        defaults={
            "nodes": parsed["nodes"],
            "edges": parsed["edges"],
            "layout_type": str(layout.get("type") or parsed.get("layout_type") or "tree")[:50],
            "layout_settings": layout,
        },
    )


def _set_content(document: Document, content: str, actor) -> dict | None:
    parsed = validate_content(document.type, content)
    document.content = content
    document.content_hash = content_hash(content)
    document.size_bytes = len(content.encode("utf-8"))
    document.word_count = word_count(content)
    document.last_edited_at = timezone.now()
    document.updated_by = actor
    return parsed


def _split_metadata(data: dict) -> tuple[dict | None, list[str] | None]:
    """`metadata.tags` is accepted and moved to the top-level tags (SPEC §3.3)."""
    metadata, tags = data.get("metadata"), data.get("tags")
    if isinstance(metadata, dict) and "tags" in metadata:
        metadata = {key: value for key, value in metadata.items() if key != "tags"}
        if tags is None and isinstance(data["metadata"]["tags"], list):
            tags = [str(tag) for tag in data["metadata"]["tags"]]
    return metadata, tags


@transaction.atomic
def document_create(
    *, actor, workspace, data: dict, origin: Origin = REST, client: ClientInfo | None = None
) -> Document:
    """Create a document (client ids allowed); content gets version 1."""
    document_id = data.get("id") or uuid.uuid4()
    if Document.objects.filter(pk=document_id).exists():
        raise IdExistsError()
    _check_folder(workspace.pk, data.get("folder_id"))
    metadata, tags = _split_metadata(data)
    document = Document(
        id=document_id,
        workspace=workspace,
        folder_id=data.get("folder_id"),
        title=data["title"],
        type=data.get("type", Document.Type.MARKDOWN),
        metadata={**default_document_metadata(), **(metadata or {})},
        settings={**default_document_settings(), **(data.get("settings") or {})},
        created_by=actor,
        updated_by=actor,
    )
    check_json_field("metadata", document.metadata)
    check_json_field("settings", document.settings)
    tags = normalize_tags(tags or [])
    parsed = _set_content(document, data.get("content", EMPTY_CONTENT[document.type]), actor)
    try:
        with transaction.atomic():
            document.save(force_insert=True)
    except IntegrityError:
        raise IdExistsError() from None
    _set_tags(document, tags)
    _project_mindmap(document, parsed)
    search_index_refresh(document_id=document.pk, tags=tags)
    if data.get("content"):  # SPEC §10.22: an empty document has no version until its first content
        version_record(document=document, actor=actor, tags=tags)
    _log(document, tags, SyncLog.Operation.CREATE, actor=actor, origin=origin, client=client)
    return document


def server_version(document: Document, *, with_content: bool = False) -> dict:
    """The document as the server holds it, for a writer whose base is stale (412 here, a push conflict)."""
    editor = document.updated_by
    version = {
        "content_hash": document.content_hash,
        "title": document.title,
        "updated_at": utc_timestamp(document.updated_at),
        "updated_by": user_summary(editor) if editor else None,
    }
    return {**version, "content": document.content} if with_content else version


def check_precondition(document: Document, if_match: str | None, *, required: bool) -> None:
    """428 when a needed If-Match is missing; 412 with server_version when it is stale."""
    if if_match is None:
        if required:
            raise PreconditionRequiredError()
        return
    if not etag_matches(if_match, document.content_hash):
        raise EditConflictError(document, server_version=server_version(document))


def locked_live(document_id, workspace_id=None) -> Document:
    """The live document under its row lock (no key update), with its last editor; 404 when missing or trashed."""
    documents = Document.objects.select_for_update(of=("self",), no_key=True).select_related("updated_by")
    if workspace_id is not None:
        documents = documents.filter(workspace_id=workspace_id)
    document = documents.filter(pk=document_id, deleted=False).first()
    if document is None:
        raise NotFoundError("No document with this id.")
    return document


def _apply(document: Document, data: dict, actor) -> tuple[set[str], dict | None, list[str] | None]:
    """Set the requested fields; returns the names that changed, parsed JSON content, new tags."""
    changed: set[str] = set()
    parsed = None
    metadata, tags = _split_metadata(data)
    if "title" in data and data["title"] != document.title:
        document.title, changed = data["title"], changed | {"title"}
    if "content" in data and data["content"] != document.content:
        parsed = _set_content(document, data["content"], actor)
        changed.add("content")
    if metadata is not None and {**document.metadata, **metadata} != document.metadata:
        document.metadata = {**document.metadata, **metadata}
        check_json_field("metadata", document.metadata)
        changed.add("metadata")
    if data.get("settings") is not None and {**document.settings, **data["settings"]} != document.settings:
        document.settings = {**document.settings, **data["settings"]}
        check_json_field("settings", document.settings)
        changed.add("settings")
    if "folder_id" in data and data["folder_id"] != document.folder_id:
        _check_folder(document.workspace_id, data["folder_id"])
        document.folder_id, changed = data["folder_id"], changed | {"folder_id"}
    new_tags = normalize_tags(tags) if tags is not None else None
    return changed, parsed, new_tags


@transaction.atomic
def document_update(
    *,
    actor,
    document: Document,
    data: dict,
    if_match: str | None,
    origin: Origin = REST,
    client: ClientInfo | None = None,
    workspace_id=None,
) -> Document:
    """Apply a PUT/PATCH under the row lock; `If-Match` is required when content is sent.

    With `workspace_id` the document must belong to that workspace (404 otherwise): a caller that
    checked its access at the workspace level need not read the document first.

    A `restore` origin records a restore version (even when nothing changed) that names the
    version brought back; content written from any origin but `live` is merged into the live
    document (collab.bridge).
    """
    document = locked_live(document.pk, workspace_id)
    check_precondition(document, if_match, required="content" in data)
    old_tags = document_tags(document)
    old = document_sync_data(document, old_tags)
    previous_content = document.content
    changed, parsed, new_tags = _apply(document, data, actor)
    if new_tags is not None and new_tags != old_tags:
        changed.add("tags")
    restoring = origin.kind == OriginKind.RESTORE
    if not changed and not restoring:
        return document
    if changed - {"folder_id"}:
        document.updated_by = actor
    tags = new_tags if new_tags is not None else old_tags
    searched = bool(changed & set(SEARCHED_FIELDS)) and settings.IS_POSTGRES
    if searched:  # written by the same UPDATE as the fields it indexes
        document.search_vector = search_vector_of(title=document.title, content=document.content, tags=tags)
    document.save()
    if searched:
        del document.search_vector  # an expression until read back; deferred from now on
    if "tags" in changed:
        _set_tags(document, tags)
    _project_mindmap(document, parsed)
    if "content" in changed or restoring:
        version_record(
            document=document,
            actor=actor,
            tags=tags,
            source=DocumentVersion.Source.RESTORE if restoring else DocumentVersion.Source.AUTO,
            restored_from=origin.restored_from,
        )
    if "content" in changed:
        bridge.merge_content(document=document, actor=actor, previous=previous_content, origin=origin)
    _log(document, tags, SyncLog.Operation.UPDATE, actor=actor, origin=origin, client=client, old=old)
    return document


@transaction.atomic
def document_delete(*, actor, document: Document, origin: Origin = REST, client: ClientInfo | None = None) -> None:
    """Move a document to the trash (tombstone + sync delete); a no-op when already there."""
    # no_key: only non-key columns change, so rows referencing the document (live updates) still go in.
    document = Document.objects.select_for_update(no_key=True).get(pk=document.pk)
    if document.deleted:
        return
    tags = document_tags(document)
    old = document_sync_data(document, tags)
    document.deleted, document.deleted_at, document.deleted_by = True, timezone.now(), actor
    document.save(update_fields=["deleted", "deleted_at", "deleted_by"])
    _log(document, tags, SyncLog.Operation.DELETE, actor=actor, origin=origin, client=client, old=old)
    bridge.lifecycle_changed(document=document, action="deleted")


@transaction.atomic
def document_undelete(
    *, actor, document: Document, origin: Origin = REST, client: ClientInfo | None = None
) -> Document:
    """Bring a document back from the trash."""
    document = Document.objects.select_for_update(no_key=True).get(pk=document.pk)
    if not document.deleted:
        raise NotDeletedError()
    tags = document_tags(document)
    old = document_sync_data(document, tags)
    if document.folder_id and not Folder.objects.filter(pk=document.folder_id, deleted_at__isnull=True).exists():
        document.folder_id = None  # its folder went to the trash meanwhile: restore at the root
    document.deleted, document.deleted_at, document.deleted_by = False, None, None
    document.save()
    _log(document, tags, SyncLog.Operation.UPDATE, actor=actor, origin=origin, client=client, old=old)
    bridge.lifecycle_changed(document=document, action="restored")
    # Live edits may have been stored while it sat in the trash: the markdown wins, merged block by block.
    bridge.merge_content(document=document, actor=actor, previous=None, origin=origin)
    return document


def document_live_state(document: Document) -> dict:
    """`{yjs_state_b64, yjs_version}` of a markdown document for its detail (SPEC decision 39): a client that
    opens the document applies this state instead of seeding the editor from the markdown, which would
    merge into a second copy of every block. Empty for other types."""
    state = bridge.live_state(document)
    if state is None:
        return {}
    update, last_seq = state
    return {"yjs_state_b64": base64.b64encode(update).decode("ascii"), "yjs_version": last_seq}


def document_record_view(*, document: Document, user) -> bool:
    """Count one view per (user, document) per 10 minutes, without touching `updated_at`."""
    if not cache.add(f"doc-view:{user.pk}:{document.pk}", 1, VIEW_WINDOW_SECONDS):
        return False
    now = timezone.now()
    Document.objects.filter(pk=document.pk).update(view_count=F("view_count") + 1, last_viewed_at=now)
    document.view_count += 1
    document.last_viewed_at = now
    return True


def document_star(*, document: Document, user, starred: bool) -> bool:
    """Star or unstar for this user (idempotent); returns the new state."""
    if starred:
        DocumentStar.objects.get_or_create(user=user, document=document)
    else:
        DocumentStar.objects.filter(user=user, document=document).delete()
    return starred
