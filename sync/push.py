"""Push: a device's offline changes, each applied on its own like the REST call it stands for (SPEC §4 "Push").

Each change runs in its own transaction with the permission and the side effects of the
equivalent REST call (through the same services), logs its sync entry with the device's
`device_id`, `client_version` and the change's id, and leaves a receipt: the same
`change_id` pushed again, even concurrently, returns the stored result and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from documents import serializers as document_shapes
from documents.content import content_hash
from documents.errors import (
    CommentIdExistsError,
    EditConflictError,
    FolderIdExistsError,
    IdExistsError,
    PreconditionRequiredError,
)
from documents.models import Comment, Document, Folder
from documents.permissions import comment_can
from documents.services import comments, documents, folders
from mdcreator.errors import NotFoundError, PermissionDeniedError, ProblemError, ValidationProblem
from mdcreator.problems import flatten_errors, problem_body
from mdcreator.sql import with_tables
from mdcreator.timestamps import utc_timestamp
from mdcreator.validation import first_or_404
from sync.models import SyncPushReceipt
from sync.origin import PUSH
from sync.pull import sync_member
from sync.services import ClientInfo
from workspaces.access import Access, access_from_membership, kind_of
from workspaces.models import WorkspaceMember


class Conflict(Exception):
    """A change that cannot apply as the device saw it; carries the server's version."""

    def __init__(self, server_version: dict):
        super().__init__("conflict")
        self.server_version = server_version


def _error(problem: ProblemError) -> dict:
    """A change's error: the problem body's status, type, detail and field errors (SPEC §4)."""
    body = problem_body(problem)
    return {key: body[key] for key in ("status", "type", "detail", "errors") if key in body}


def _valid(serializer_class, data, **kwargs) -> dict:
    """A change's `data` validated; a 400 problem naming each field under `data.`."""
    serializer = serializer_class(data=data, **kwargs)
    if not serializer.is_valid():
        raise ValidationProblem(flatten_errors(serializer.errors, "data"))
    return serializer.validated_data


@dataclass(frozen=True)
class Pusher:
    """Who pushes, with the membership read once for the whole push (push is for members only, and a
    member's access to the workspace's documents and folders is that membership's)."""

    user: object
    member: WorkspaceMember

    def access(self, obj) -> Access:
        """The pusher's access to an object of the workspace."""
        return access_from_membership(self.member, kind_of(obj))


def pusher_for(user, workspace_id) -> Pusher:
    """The pusher of a workspace: a member whose role may push (404 otherwise), read in one query."""
    return Pusher(user=user, member=sync_member(user, workspace_id, "push"))


def _need(pusher: Pusher, obj, ability: str) -> None:
    if not pusher.access(obj).can(ability):
        raise PermissionDeniedError()


def _document(workspace, entity_id, *, deleted_too: bool = False) -> Document:
    documents_ = Document.objects.select_related("updated_by").filter(pk=entity_id, workspace=workspace)
    documents_ = documents_ if deleted_too else documents_.filter(deleted=False)
    return first_or_404(documents_, "No document with this id in this workspace.")


def _push_document(pusher: Pusher, workspace, change: dict, client: ClientInfo) -> dict:
    entity_id, operation, data = change["entity_id"], change["operation"], change["data"]
    if operation == "create":
        _need(pusher, workspace, "create_document")
        body = _valid(document_shapes.DocumentCreateSerializer, {**data, "id": str(entity_id)})
        try:
            created = documents.document_create(actor=pusher.user, workspace=workspace, data=body, origin=PUSH, client=client)
        except IdExistsError:
            existing = Document.objects.filter(pk=entity_id).select_related("updated_by").first()
            same = (existing is not None and existing.workspace_id == workspace.pk and existing.created_by_id == pusher.user.pk
                    and existing.content_hash == content_hash(body.get("content", existing.content)))
            if not same:
                raise Conflict(documents.server_version(existing, with_content=True) if existing and existing.workspace_id == workspace.pk
                               else {}) from None
            created = existing
        return {"content_hash": created.content_hash, "updated_at": utc_timestamp(created.updated_at)}
    if operation == "update":
        # A member's abilities are the same on every document of the workspace: no read before the locked one.
        document = Document(pk=entity_id, workspace_id=workspace.pk)
        _need(pusher, document, "partial_update")
        body = _valid(document_shapes.DocumentWriteSerializer, data, partial=True)
        body.pop("is_starred", None)  # a personal star is not a synced change
        if "content" in body and not change.get("base_content_hash"):
            raise PreconditionRequiredError("A content change needs base_content_hash.")
        try:
            updated = documents.document_update(
                actor=pusher.user, document=document, data=body, if_match=f'"{change.get("base_content_hash")}"'
                if "content" in body else None, origin=PUSH, client=client, workspace_id=workspace.pk,
            )
        except EditConflictError as conflict:  # its transaction is failed: answer from what the error carries
            raise Conflict(documents.server_version(conflict.document, with_content=True)) from None
        return {"content_hash": updated.content_hash, "updated_at": utc_timestamp(updated.updated_at)}
    document = _document(workspace, entity_id, deleted_too=True)
    _need(pusher, document, "destroy")
    documents.document_delete(actor=pusher.user, document=document, origin=PUSH, client=client)
    return {}


def _push_folder(pusher: Pusher, workspace, change: dict, client: ClientInfo) -> dict:
    entity_id, operation, data = change["entity_id"], change["operation"], change["data"]
    if operation == "create":
        _need(pusher, workspace, "create_folder")
        body = _valid(document_shapes.FolderWriteSerializer, {**data, "id": str(entity_id)})
        try:
            folder = folders.folder_create(actor=pusher.user, workspace=workspace, data=body, origin=PUSH, client=client)
        except FolderIdExistsError:
            folder = Folder.objects.filter(pk=entity_id, workspace=workspace, created_by=pusher.user).first()
            if folder is None:
                raise Conflict({}) from None
        return {"updated_at": utc_timestamp(folder.updated_at)}
    folder = Folder.objects.filter(pk=entity_id, workspace=workspace).first()
    if folder is None or (operation == "update" and folder.deleted_at is not None):
        raise NotFoundError("No folder with this id in this workspace.")
    if operation == "update":
        _need(pusher, folder, "partial_update")
        body = _valid(document_shapes.FolderWriteSerializer, data, partial=True)
        body.pop("id", None)
        folder = folders.folder_update(actor=pusher.user, folder=folder, data=body, origin=PUSH, client=client)
        return {"updated_at": utc_timestamp(folder.updated_at)}
    _need(pusher, folder, "destroy")
    if folder.deleted_at is None:
        folders.folder_delete(actor=pusher.user, folder=folder, cascade=bool(data.get("cascade")), origin=PUSH, client=client)
    return {}


def _comment(workspace, entity_id) -> Comment:
    comments_ = Comment.objects.select_related("document").filter(
        pk=entity_id, document__workspace=workspace, document__deleted=False
    )
    return first_or_404(comments_, "No comment with this id in this workspace.")


def _push_comment(pusher: Pusher, workspace, change: dict, client: ClientInfo) -> dict:
    """Decision 33: a comment create's `data` is the REST create body plus `document_id`."""
    entity_id, operation, data = change["entity_id"], change["operation"], change["data"]
    if operation == "create":
        document = Document.objects.filter(pk=data.get("document_id"), workspace=workspace, deleted=False).first()
        if document is None:
            raise ValidationProblem({"data.document_id": ["No such document in this workspace."]})
        _need(pusher, document, "comment")
        body = _valid(document_shapes.CommentCreateSerializer, {**data, "id": str(entity_id)})
        try:
            comments.comment_create(actor=pusher.user, document=document, data=body, origin=PUSH, client=client)
        except CommentIdExistsError:
            if not Comment.objects.filter(pk=entity_id, author=pusher.user, document=document).exists():
                raise Conflict({}) from None
        return {}
    comment = _comment(workspace, entity_id)
    comment.access = pusher.access(comment.document)
    if operation == "update":
        if not comment_can(comment, pusher.user, "partial_update"):
            raise PermissionDeniedError()
        body = _valid(document_shapes.CommentEditSerializer, data)
        comments.comment_edit(actor=pusher.user, comment=comment, content=body["content"], mentions=body.get("mentions"),
                              origin=PUSH, client=client)
        return {}
    if not comment_can(comment, pusher.user, "destroy"):
        raise PermissionDeniedError()
    comments.comment_delete(actor=pusher.user, comment=comment, origin=PUSH, client=client)
    return {}


HANDLERS: dict[str, Callable[..., dict]] = {
    "document": _push_document,
    "folder": _push_folder,
    "comment": _push_comment,
}


def _claim(user, workspace, change_id, result: dict | None = None) -> tuple[int | None, dict | None]:
    """Insert this change's receipt (with its `result` when already known): `(its id, None)`; or, when the
    change was seen before, `(None, the stored result)`.

    One statement (`ON CONFLICT DO NOTHING`): a concurrent twin's insert waits on the unique index
    until the first transaction ends, then finds its row.
    """
    meta = SyncPushReceipt._meta
    values = [
        meta.get_field(name).get_db_prep_save(value, connection)
        for name, value in (("user", user.pk), ("change_id", change_id), ("workspace", workspace.pk),
                            ("result", result or {}), ("created_at", timezone.now()))
    ]
    sql = with_tables(
        "INSERT INTO {receipt} (user_id, change_id, workspace_id, result, created_at) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (user_id, change_id) DO NOTHING RETURNING id",
        receipt=SyncPushReceipt,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        inserted = cursor.fetchone()
    if inserted:
        return inserted[0], None
    return None, SyncPushReceipt.objects.filter(user=user, change_id=change_id).values_list("result", flat=True).get()


def _check_shape(change: dict) -> None:
    """The parts of a change the envelope leaves to the change: a UUID entity id, an object as data."""
    try:
        change["entity_id"] = uuid.UUID(str(change["entity_id"]))
    except ValueError:
        raise ValidationProblem({"entity_id": ["Must be a UUID."]}) from None
    if not isinstance(change["data"], dict):
        raise ValidationProblem({"data": ["Must be an object."]})


def push_one(*, pusher: Pusher, workspace, change: dict, client: ClientInfo) -> dict:
    """Apply one change in its own transaction; its result (success, conflict or error) is kept as its receipt."""
    outcome = {"change_id": str(change["change_id"]), "entity_id": str(change["entity_id"])}
    try:
        _check_shape(change)
        with transaction.atomic():
            receipt_id, stored = _claim(pusher.user, workspace, change["change_id"])
            if stored is not None:
                return stored
            result = {**outcome, "status": "success", "result": HANDLERS[change["entity_type"]](
                pusher, workspace, change, client)}
            SyncPushReceipt.objects.filter(pk=receipt_id).update(result=result)
            return result
    except Conflict as conflict:
        result = {**outcome, "status": "conflict", "server_version": conflict.server_version}
    except ProblemError as problem:
        result = {**outcome, "status": "error", "error": _error(problem)}
    # Nothing of the change was written: its receipt is stored on its own, unless a twin stored one first.
    _, stored = _claim(pusher.user, workspace, change["change_id"], result)  # one statement, its own commit
    return stored if stored is not None else result

