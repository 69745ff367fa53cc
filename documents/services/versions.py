"""Versions: throttled auto versions, manual versions, summaries and diffs (SPEC §3.3)."""

from __future__ import annotations

import difflib
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from documents.models import Document, DocumentVersion

AUTO_VERSION_WINDOW = timedelta(minutes=10)


def changes_summary(old: str, new: str) -> dict:
    """Lines added, removed and modified between two texts (replaced a→b: min modified, excess added/removed)."""
    added = removed = modified = 0
    matcher = difflib.SequenceMatcher(a=old.splitlines(), b=new.splitlines(), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "insert":
            added += j2 - j1
        elif tag == "delete":
            removed += i2 - i1
        elif tag == "replace":
            before, after = i2 - i1, j2 - j1
            modified += min(before, after)
            added += max(0, after - before)
            removed += max(0, before - after)
    return {"lines_added": added, "lines_removed": removed, "lines_modified": modified}


def unified_diff(old: str, new: str, *, from_label: str, to_label: str, context: int = 3) -> str:
    """A unified diff (difflib) of two texts."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=from_label, tofile=to_label, n=context
    )
    return "".join(lines)


def _snapshot(document: Document, tags: list[str]) -> dict:
    return {"metadata": document.metadata, "tags": tags}


def version_record(
    *,
    document: Document,
    actor,
    tags: list[str],
    source: str = DocumentVersion.Source.AUTO,
    description: str = "",
    restored_from: int | None = None,
) -> DocumentVersion:
    """Snapshot the document's current content; an auto version coalesces into the author's recent one.

    Precondition: the caller holds the document's row lock (numbers are max + 1).
    """
    # The two latest in one read: a coalesced version diffs against the one before it.
    latest, before = (list(document.versions.order_by("-version_number")[:2]) + [None, None])[:2]
    now = timezone.now()
    coalesce = (
        source == DocumentVersion.Source.AUTO
        and latest is not None
        and latest.source == DocumentVersion.Source.AUTO
        and latest.created_by_id == actor.pk
        and now - latest.created_at < AUTO_VERSION_WINDOW
    )
    if coalesce:
        version, previous = latest, before.content if before else ""
    else:  # the latest version holds the highest number and the previous content
        version = DocumentVersion(document=document, version_number=(latest.version_number if latest else 0) + 1)
        previous = latest.content if latest else ""
    version.title = document.title
    version.content = document.content
    version.content_hash = document.content_hash
    version.size_bytes = document.size_bytes
    version.source = source
    version.changes_summary = changes_summary(previous, document.content)
    version.metadata_snapshot = _snapshot(document, tags)
    version.created_by = actor
    if not coalesce:
        version.change_description = description
        version.restored_from = restored_from
    version.save()
    return version


@transaction.atomic
def version_create_manual(*, document: Document, actor, tags: list[str], description: str = "") -> DocumentVersion:
    """A manual version of the current content (never coalesced)."""
    # no_key: the lock only allocates the version number; the version row itself references the document.
    document = Document.objects.select_for_update(no_key=True).get(pk=document.pk)
    return version_record(
        document=document, actor=actor, tags=tags, source=DocumentVersion.Source.MANUAL, description=description
    )
