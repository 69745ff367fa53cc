"""Pull: the entries of a workspace's sync log after a cursor (SPEC §4 "Pull").

Entries become visible in seq order without gaps (the writer allocates seqs under the
workspace row lock, sync.services), so a device that keeps calling with the last cursor
it received never misses a change.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.serializers import user_summary
from documents.models import Document
from mdcreator.errors import NotFoundError
from mdcreator.timestamps import utc_timestamp
from sync.errors import CursorExpiredError
from sync.models import SyncLog
from workspaces.access import access_from_membership, active_memberships
from workspaces.models import WorkspaceMember

INLINE_CONTENT_MAX_BYTES = 1024 * 1024
GROUPS = {
    SyncLog.EntityType.DOCUMENT: "documents",
    SyncLog.EntityType.FOLDER: "folders",
    SyncLog.EntityType.COMMENT: "comments",
    SyncLog.EntityType.ATTACHMENT: "attachments",
    SyncLog.EntityType.CONTEXT_FILE: "context_files",
    SyncLog.EntityType.MEMBER: "members",
    SyncLog.EntityType.WORKSPACE: "workspace",
}


@dataclass(frozen=True)
class Page:
    """One answer of `since`: entries grouped by entity type, the next cursor, whether more follow."""

    groups: dict[str, list[dict]]
    cursor: int
    has_more: bool


def sync_member(user, workspace_id, ability: str = "pull") -> WorkspaceMember:
    """The caller's membership of a live workspace (its `workspace` loaded) if it allows `ability`; 404 otherwise.

    One query. Grantees and link holders have no sync: only members pull and push.
    """
    member = active_memberships(user).filter(workspace_id=workspace_id).select_related("workspace").first()
    if member is None or not access_from_membership(member).can(ability):
        raise NotFoundError("No workspace with this id.")
    return member


def _current_contents(entries: list[SyncLog]) -> dict:
    """{(document id, hash): content} for document entries whose hash is still the document's, ≤ 1 MiB (2 queries)."""
    wanted = {
        (e.entity_id, e.content_hash)
        for e in entries
        if e.entity_type == SyncLog.EntityType.DOCUMENT and e.content_hash and e.operation != SyncLog.Operation.DELETE
    }
    if not wanted:
        return {}
    current = dict(
        Document.objects.filter(pk__in={pk for pk, _ in wanted}, size_bytes__lte=INLINE_CONTENT_MAX_BYTES)
        .values_list("pk", "content_hash")
    )
    fresh = {pk for pk, content_hash in wanted if current.get(pk) == content_hash}
    if not fresh:
        return {}
    # The content is read with its hash: a write between the two queries is not passed off as the old version.
    rows = Document.objects.filter(pk__in=fresh).values_list("pk", "content_hash", "content")
    return {(pk, content_hash): content for pk, content_hash, content in rows}


def _entry(entry: SyncLog, contents: dict | None) -> dict:
    body = {
        "seq": entry.seq,
        "operation": entry.operation,
        "entity_id": str(entry.entity_id),
        "timestamp": utc_timestamp(entry.timestamp),
        "changed_by": user_summary(entry.changed_by) if entry.changed_by_id else None,
        "device_id": entry.device_id,
        "changes": entry.changes,
        "data": entry.data,
        "content_hash": entry.content_hash,
    }
    if contents is not None and (entry.entity_id, entry.content_hash) in contents:
        body["content"] = contents[(entry.entity_id, entry.content_hash)]
    return body


def sync_pull(*, user, workspace_id, cursor: int, limit: int, include_content: bool = False) -> Page:
    """Entries with `seq > cursor`, at most `limit`, grouped by entity type (410 below the workspace's horizon)."""
    workspace = sync_member(user, workspace_id).workspace
    if 0 < cursor < workspace.sync_horizon:
        raise CursorExpiredError()
    if cursor >= workspace.sync_seq:
        # Nothing new, known without reading the log: the seq counter and the entries it numbers commit
        # together (record_change), so every entry up to the committed `sync_seq` is already visible.
        return Page(groups={name: [] for name in GROUPS.values()}, cursor=cursor, has_more=False)
    rows = list(
        SyncLog.objects.filter(workspace=workspace, seq__gt=cursor)
        .select_related("changed_by")
        .order_by("seq")[: limit + 1]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    contents = _current_contents(rows) if include_content else None
    groups: dict[str, list[dict]] = {name: [] for name in GROUPS.values()}
    for entry in rows:
        groups[GROUPS[entry.entity_type]].append(_entry(entry, contents))
    return Page(groups=groups, cursor=rows[-1].seq if rows else cursor, has_more=has_more)
