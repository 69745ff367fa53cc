"""Documents follow their workspace (registered with workspaces.contents): trash, restore, counts."""

from __future__ import annotations

from django.db import transaction
from django.db.models import OuterRef

from collab import bridge
from documents.models import Document
from mdcreator.queries import count_of


@transaction.atomic
def documents_trash_with_workspace(*, workspace, actor, at) -> int:
    """Tombstone every live document of a workspace being deleted at `at`; their open rooms close.

    The workspace's own sync `delete` entry stands for them (no entry per document). Returns how many.
    """
    deleted_by = actor if getattr(actor, "is_authenticated", False) else None
    trashed = Document.objects.filter(workspace=workspace, deleted=False).update(
        deleted=True, deleted_at=at, deleted_by=deleted_by
    )
    bridge.documents_trashed(workspace_id=workspace.pk, at=at)
    return trashed


@transaction.atomic
def documents_restore_with_workspace(*, workspace, actor, at) -> int:
    """Bring back the documents that went to the trash with their workspace at `at`; older trash stays."""
    return Document.objects.filter(workspace=workspace, deleted=True, deleted_at=at).update(
        deleted=False, deleted_at=None, deleted_by=None
    )


def workspace_document_counts(outer_ref: str) -> dict:
    """`document_count`: live documents of the workspace named by `outer_ref`, as one subquery."""
    return {"document_count": count_of(Document.objects.filter(workspace=OuterRef(outer_ref), deleted=False), "workspace")}
