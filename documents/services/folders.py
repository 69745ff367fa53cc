"""Folders: create, move with cycle and depth checks, delete with or without cascade (SPEC §3.3)."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from documents.errors import FolderCycleError, FolderIdExistsError
from documents.models import Document, Folder
from documents.services.documents import document_delete, document_update
from mdcreator.errors import ValidationProblem
from mdcreator.timestamps import utc_timestamp
from sync.models import SyncLog
from sync.origin import REST
from sync.services import ClientInfo, Origin, record_change

MAX_DEPTH = 10
FIELDS = ("name", "icon", "color", "position", "is_expanded")


def folder_sync_data(folder: Folder) -> dict:
    """What a sync entry carries for a folder."""
    return {
        "id": str(folder.pk),
        "workspace_id": str(folder.workspace_id),
        "parent_id": str(folder.parent_id) if folder.parent_id else None,
        "name": folder.name,
        "icon": folder.icon,
        "color": folder.color,
        "position": folder.position,
        "is_expanded": folder.is_expanded,
        "deleted_at": utc_timestamp(folder.deleted_at) if folder.deleted_at else None,
    }


def _log(folder: Folder, operation: str, *, actor, origin: Origin, client, old: dict | None = None) -> None:
    record_change(
        entity_type=SyncLog.EntityType.FOLDER,
        entity_id=folder.pk,
        workspace_id=folder.workspace_id,
        operation=operation,
        old=old,
        new=folder_sync_data(folder),
        actor=actor,
        origin=origin,
        client=client,
    )


class _Tree:
    """The live folders of one workspace, as parent links."""

    def __init__(self, workspace_id):
        rows = Folder.objects.filter(workspace_id=workspace_id, deleted_at__isnull=True).values_list("pk", "parent_id")
        self.parent = dict(rows)

    def depth(self, folder_id) -> int:
        """1 for a root folder (SPEC §10.31)."""
        depth, current = 0, folder_id
        while current is not None and depth <= MAX_DEPTH + 1:
            depth, current = depth + 1, self.parent.get(current)
        return depth

    def descendants(self, folder_id) -> set:
        children: dict = {}
        for child, parent in self.parent.items():
            children.setdefault(parent, []).append(child)
        found, stack = set(), [folder_id]
        while stack:
            for child in children.get(stack.pop(), []):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found

    def height(self, folder_id) -> int:
        """Levels in the subtree rooted at `folder_id` (1 for a leaf)."""
        below = self.descendants(folder_id)
        return 1 + max((self.depth(d) - self.depth(folder_id) for d in below), default=0)


def _check_parent(workspace_id, parent_id) -> None:
    if (
        parent_id is not None
        and not Folder.objects.filter(pk=parent_id, workspace_id=workspace_id, deleted_at__isnull=True).exists()
    ):
        raise ValidationProblem({"parent_id": ["No such folder in this workspace."]})


def _too_deep() -> ValidationProblem:
    return ValidationProblem({"parent_id": [f"Folders nest at most {MAX_DEPTH} levels deep."]})


@transaction.atomic
def folder_create(*, actor, workspace, data: dict, origin: Origin = REST, client: ClientInfo | None = None) -> Folder:
    """Create a folder (client ids allowed) under a live parent, within the depth limit."""
    parent_id = data.get("parent_id")
    _check_parent(workspace.pk, parent_id)
    if parent_id is not None and _Tree(workspace.pk).depth(parent_id) >= MAX_DEPTH:
        raise _too_deep()
    folder = Folder(
        id=data.get("id") or uuid.uuid4(),
        workspace=workspace,
        parent_id=parent_id,
        created_by=actor,
        **{name: data[name] for name in FIELDS if name in data},
    )
    try:
        with transaction.atomic():
            folder.save(force_insert=True)
    except IntegrityError:
        raise FolderIdExistsError() from None
    _log(folder, SyncLog.Operation.CREATE, actor=actor, origin=origin, client=client)
    return folder


@transaction.atomic
def folder_update(*, actor, folder: Folder, data: dict, origin: Origin = REST, client: ClientInfo | None = None) -> Folder:
    """Rename, restyle or move a folder; a move may not create a cycle or exceed the depth limit."""
    folder = Folder.objects.select_for_update().get(pk=folder.pk)
    old = folder_sync_data(folder)
    if "parent_id" in data and data["parent_id"] != folder.parent_id:
        _move(folder, data["parent_id"])
    for name in FIELDS:
        if name in data:
            setattr(folder, name, data[name])
    folder.save()
    if folder_sync_data(folder) != old:
        _log(folder, SyncLog.Operation.UPDATE, actor=actor, origin=origin, client=client, old=old)
    return folder


def _move(folder: Folder, parent_id) -> None:
    tree = _Tree(folder.workspace_id)
    if parent_id is not None:
        _check_parent(folder.workspace_id, parent_id)
        if parent_id == folder.pk or parent_id in tree.descendants(folder.pk):
            raise FolderCycleError()
        if tree.depth(parent_id) + tree.height(folder.pk) > MAX_DEPTH:
            raise _too_deep()
    folder.parent_id = parent_id


@transaction.atomic
def folder_delete(*, actor, folder: Folder, cascade: bool, origin: Origin = REST, client: ClientInfo | None = None) -> None:
    """Delete a folder: its children move up to its parent, or with `cascade` the subtree goes to the trash."""
    folder = Folder.objects.select_for_update().get(pk=folder.pk)
    tree = _Tree(folder.workspace_id)
    doomed = {folder.pk} | (tree.descendants(folder.pk) if cascade else set())
    if cascade:
        for document in Document.objects.filter(folder_id__in=doomed, deleted=False):
            document_delete(actor=actor, document=document, origin=origin, client=client)
    else:
        for child in Folder.objects.select_for_update().filter(parent=folder, deleted_at__isnull=True):
            folder_update(actor=actor, folder=child, data={"parent_id": folder.parent_id}, origin=origin, client=client)
        for document in Document.objects.filter(folder=folder, deleted=False):
            _move_document(document, folder.parent_id, actor, origin, client)
    now = timezone.now()
    for doomed_folder in Folder.objects.select_for_update().filter(pk__in=doomed):
        old = folder_sync_data(doomed_folder)
        doomed_folder.deleted_at = now
        doomed_folder.save(update_fields=["deleted_at", "updated_at"])
        _log(doomed_folder, SyncLog.Operation.DELETE, actor=actor, origin=origin, client=client, old=old)


def _move_document(document: Document, folder_id, actor, origin: Origin, client) -> None:
    document_update(
        actor=actor, document=document, data={"folder_id": folder_id}, if_match=None, origin=origin, client=client
    )
