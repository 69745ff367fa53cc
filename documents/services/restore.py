"""Restoring an old version: history is never rewritten (SPEC §3.3)."""

from __future__ import annotations

from django.db import transaction

from collab import bridge
from documents.models import Document, DocumentVersion
from documents.services.documents import document_tags, document_update
from documents.services.versions import version_record
from mdcreator.errors import NotFoundError
from sync.origin import Origin


@transaction.atomic
def version_restore(*, actor, document: Document, version_number: int) -> Document:
    """Write an old version's title and content as a new edit (source `restore`).

    The current state is first kept as a manual version when no version holds it yet.
    """
    # no_key, the lock document_update takes too: inserts referencing the document are not blocked.
    document = Document.objects.select_for_update(no_key=True).get(pk=document.pk)
    target = document.versions.filter(version_number=version_number).first()
    if target is None:
        raise NotFoundError(f"No version {version_number} of this document.")
    latest = document.versions.order_by("-version_number").first()
    if latest is None or latest.content_hash != document.content_hash:
        version_record(
            document=document,
            actor=actor,
            tags=document_tags(document),
            source=DocumentVersion.Source.MANUAL,
            description=f"Before restoring version {version_number}",
        )
    restored = document_update(
        actor=actor,
        document=document,
        data={"title": target.title, "content": target.content},
        if_match="*",
        origin=Origin.restore(version_number),
    )
    bridge.lifecycle_changed(document=restored, action="version_restored")
    return restored
