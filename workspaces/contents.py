"""What the apps above keep inside a workspace, and how it follows the workspace (STYLE §4b).

Workspaces sit below documents and never import them. The apps that keep
things in a workspace register a `WorkspaceContents` in `AppConfig.ready()`:
soft-deleting a workspace trashes them with it (in the same transaction),
restoring it brings back what went down with it, and the Workspace body's
counts come from their annotations. Reading this module and the `register`
calls shows every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Expression


@dataclass(frozen=True)
class WorkspaceContents:
    """One app's contents of workspaces.

    - `trash(workspace, actor, at)`: the workspace is being soft-deleted at `at` (row locked).
    - `restore(workspace, actor, at)`: the soft delete of `at` is being undone.
    - `counts(outer_ref) -> {name: expression}`: annotations counting the contents of the
      workspace whose id `outer_ref` names (an OuterRef path), for the Workspace body.
    - `accept_invitation(invitation, user) -> role`: an invitation to one of the app's objects
      (`invitation.document`) was accepted; gives what it promised (a document grant).
    - `storage_used(workspace_id) -> bytes`: what the app's stored objects of the workspace should
      charge to its quota (`recalc_storage` sets `storage_used_bytes` to the sum over apps).
    """

    name: str
    trash: Callable[..., None] | None = None
    restore: Callable[..., None] | None = None
    counts: Callable[[str], dict[str, Expression]] | None = None
    accept_invitation: Callable[..., str] | None = None
    storage_used: Callable[..., int] | None = None


_contents: dict[str, WorkspaceContents] = {}


def register(contents: WorkspaceContents) -> None:
    """Add (or, under the same name, replace) an app's contents."""
    _contents[contents.name] = contents


def trash_contents(*, workspace, actor, at: datetime) -> None:
    """Soft-delete every app's contents along with `workspace` (caller holds the workspace row lock)."""
    for contents in _contents.values():
        if contents.trash is not None:
            contents.trash(workspace=workspace, actor=actor, at=at)


def restore_contents(*, workspace, actor, at: datetime) -> None:
    """Bring back the contents that went down with the workspace at `at`; older trash stays."""
    for contents in _contents.values():
        if contents.restore is not None:
            contents.restore(workspace=workspace, actor=actor, at=at)


def count_annotations(outer_ref: str) -> dict[str, Expression]:
    """Every app's count annotations for the workspace named by `outer_ref`."""
    annotations: dict[str, Expression] = {}
    for contents in _contents.values():
        if contents.counts is not None:
            annotations.update(contents.counts(outer_ref))
    return annotations


def storage_used(*, workspace_id) -> int:
    """Bytes every app's stored objects of the workspace should charge to its quota."""
    return sum(
        contents.storage_used(workspace_id=workspace_id)
        for contents in _contents.values()
        if contents.storage_used is not None
    )


def accept_object_invitation(invitation, user) -> str:
    """Accept an invitation to one object of the workspace (a document): the registered app grants it."""
    for contents in _contents.values():
        if contents.accept_invitation is not None:
            return contents.accept_invitation(invitation, user)
    raise LookupError("no app accepts invitations to objects of a workspace")
