"""Comments: threads, replies, edits, deletes, resolve and reopen, reactions (SPEC §3.5).

Every write logs its sync entry in its own transaction (sync.services.record_change) and,
after commit, tells the document's room (collab.bridge.comment_changed) and mails the people
it newly mentions.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from collab import bridge
from documents.comment_html import render_comment_html
from documents.emoji import is_single_emoji
from documents.errors import CommentIdExistsError
from documents.models import Comment, Document
from documents.serializers import comment_body
from documents.sharing import live_shares
from mdcreator.errors import NotFoundError, ValidationProblem
from mdcreator.timestamps import utc_timestamp, utc_timestamp_or_none
from mdcreator.validation import first_or_404
from sync.models import SyncLog
from sync.origin import REST
from sync.services import ClientInfo, Origin, record_change
from workspaces.models import WorkspaceMember

MAX_DEPTH = 5
MAX_DISTINCT_EMOJI = 20
EDIT_HISTORY_KEPT = 20


def comment_sync_data(comment: Comment) -> dict:
    """What a sync entry carries for a comment."""
    return {
        "id": str(comment.pk),
        "document_id": str(comment.document_id),
        "thread_id": str(comment.thread_id),
        "parent_id": str(comment.parent_id) if comment.parent_id else None,
        "depth": comment.depth,
        "author_id": str(comment.author_id),
        "content": comment.content,
        "position": comment.position,
        "anchor_text": comment.anchor_text,
        "mentions": comment.mentions,
        "resolved": comment.resolved,
        "resolved_at": utc_timestamp_or_none(comment.resolved_at),
        "reactions": comment.reactions,
        "edited": comment.edited,
        "deleted_at": utc_timestamp_or_none(comment.deleted_at),
    }


def _log(comment: Comment, operation: str, *, actor, origin: Origin, client, old: dict | None = None) -> None:
    record_change(
        entity_type=SyncLog.EntityType.COMMENT,
        entity_id=comment.pk,
        workspace_id=comment.document.workspace_id,
        operation=operation,
        old=old,
        new=comment_sync_data(comment),
        actor=actor,
        origin=origin,
        client=client,
    )


def _tell(comment: Comment, action: str) -> None:
    """The comment event of SPEC §5.5, with the comment's REST body, to the document's room after commit.

    The body is kept as `comment.body`: the view answers with it instead of reading the comment again.
    """
    comment.body = comment_body(comment.pk)
    bridge.comment_changed(document_id=comment.document_id, action=action, comment=comment.body)


def _check_mentions(document: Document, mentions: list[uuid.UUID]) -> list[str]:
    """The mentioned ids, deduplicated; 400 naming those who are neither members nor grantees in force."""
    wanted = list(dict.fromkeys(str(m) for m in mentions))
    if not wanted:
        return []
    users = get_user_model().objects.filter(pk__in=wanted, is_active=True, deleted_at__isnull=True)
    members = set(
        WorkspaceMember.objects.filter(workspace_id=document.workspace_id, is_active=True, user__in=users)
        .filter(workspace__deleted_at__isnull=True)
        .values_list("user_id", flat=True)
    )
    grantees = set(live_shares().filter(document=document, user__in=users).values_list("user_id", flat=True))
    allowed = {str(pk) for pk in members | grantees}
    bad = [pk for pk in wanted if pk not in allowed]
    if bad:
        raise ValidationProblem({"mentions": [f"Not a member or grantee of this document: {', '.join(bad)}."]})
    return wanted


def _mail_mentions(comment: Comment, user_ids: list[str]) -> None:
    """After commit, mail each newly mentioned person once (never the author; respecting their settings)."""
    recipients = [
        user
        for user in get_user_model().objects.filter(pk__in=user_ids, is_active=True).exclude(pk=comment.author_id)
        if (user.settings or {}).get("notifications_enabled", True) is not False
    ]
    if not recipients:
        return
    document, author = comment.document, comment.author
    link = f"{settings.FRONTEND_URL}/documents/{document.pk}"
    subject = f"{author.display_name} mentioned you in \u201c{document.title}\u201d"
    body = render_to_string(
        "documents/email/mention.txt", {"author": author, "document": document, "comment": comment, "link": link}
    )
    addresses = [user.email for user in recipients]
    transaction.on_commit(lambda: [send_mail(subject, body, None, [address]) for address in addresses])


def _parent(document: Document, parent_id) -> Comment:
    parent = Comment.objects.filter(pk=parent_id, document=document, deleted_at__isnull=True).first()
    if parent is None:
        raise ValidationProblem({"parent_id": ["No such comment on this document."]})
    if parent.depth + 1 > MAX_DEPTH:
        raise ValidationProblem({"parent_id": [f"Replies nest at most {MAX_DEPTH} levels deep."]})
    return parent


@transaction.atomic
def comment_create(
    *, actor, document: Document, data: dict, origin: Origin = REST, client: ClientInfo | None = None
) -> Comment:
    """A new thread, or a reply (thread and depth from its parent, no position of its own)."""
    mentions = _check_mentions(document, data.get("mentions") or [])
    comment = Comment(id=data.get("id") or uuid.uuid4(), document=document, author=actor, content=data["content"])
    if data.get("parent_id"):
        parent = _parent(document, data["parent_id"])
        comment.parent, comment.thread_id, comment.depth = parent, parent.thread_id, parent.depth + 1
        comment.resolved, comment.resolved_by_id, comment.resolved_at = (
            parent.resolved, parent.resolved_by_id, parent.resolved_at
        )
    else:
        comment.thread_id, comment.depth, comment.position = comment.id, 0, data.get("position")
    comment.anchor_text = data.get("anchor_text") or ""
    comment.mentions = comment.notified = mentions
    comment.content_html = render_comment_html(comment.content, mentions)
    try:
        with transaction.atomic():
            comment.save(force_insert=True)
    except IntegrityError:  # a client-chosen id that is taken
        raise CommentIdExistsError() from None
    _log(comment, SyncLog.Operation.CREATE, actor=actor, origin=origin, client=client)
    _tell(comment, "create")
    _mail_mentions(comment, mentions)
    return comment


def _lock_comments():
    """Comments to lock with their document at hand: only the comment rows are locked (`of`), so
    document writes, live edits and new comments on the document go on; the document's text is not read."""
    return (
        Comment.objects.select_for_update(of=("self",))
        .select_related("document")
        .defer("document__content", "document__search_vector")
    )


def _locked(comment: Comment) -> Comment:
    locked = _lock_comments().select_related("author").filter(pk=comment.pk).first()
    if locked is None or locked.deleted_at is not None:
        raise NotFoundError("No comment with this id.")
    return locked


@transaction.atomic
def comment_edit(
    *, actor, comment: Comment, content: str, mentions: list | None = None, origin: Origin = REST,
    client: ClientInfo | None = None,
) -> Comment:
    """The author rewrites a comment: the old text joins the history (last 20), new mentions are mailed."""
    comment = _locked(comment)
    old = comment_sync_data(comment)
    wanted = _check_mentions(comment.document, mentions) if mentions is not None else comment.mentions
    newly = [pk for pk in wanted if pk not in set(comment.notified)]
    if content != comment.content:
        history = [*comment.edit_history, {"content": comment.content, "edited_at": utc_timestamp()}]
        comment.edit_history, comment.edited = history[-EDIT_HISTORY_KEPT:], True
    comment.content, comment.mentions, comment.notified = content, wanted, [*comment.notified, *newly]
    comment.content_html = render_comment_html(content, wanted)
    comment.save()
    _log(comment, SyncLog.Operation.UPDATE, actor=actor, origin=origin, client=client, old=old)
    _tell(comment, "update")
    _mail_mentions(comment, newly)
    return comment


@transaction.atomic
def comment_delete(*, actor, comment: Comment, origin: Origin = REST, client: ClientInfo | None = None) -> None:
    """Soft-delete; a comment with live replies stays as an empty placeholder so its thread keeps its shape."""
    comment = _locked(comment)
    old = comment_sync_data(comment)
    comment.deleted_at = timezone.now()
    if Comment.objects.filter(parent=comment, deleted_at__isnull=True).exists():
        comment.content, comment.content_html, comment.mentions = "", "", []
    comment.save()
    _log(comment, SyncLog.Operation.DELETE, actor=actor, origin=origin, client=client, old=old)
    _tell(comment, "delete")


@transaction.atomic
def comment_restore(*, actor, comment: Comment, origin: Origin = REST, client: ClientInfo | None = None) -> bool:
    """Undo a soft delete (support staff); a placeholder gets no text back. False if it was live."""
    comment = _lock_comments().get(pk=comment.pk)
    if comment.deleted_at is None:
        return False
    old = comment_sync_data(comment)
    comment.deleted_at = None
    comment.save(update_fields=["deleted_at", "updated_at"])
    _log(comment, SyncLog.Operation.UPDATE, actor=actor, origin=origin, client=client, old=old)
    _tell(comment, "create")
    return True


@transaction.atomic
def comment_set_resolved(
    *, actor, comment: Comment, resolved: bool, origin: Origin = REST, client: ClientInfo | None = None
) -> Comment:
    """Resolve or reopen a whole thread, whichever comment of it is named; returns the thread's root.

    Every comment of the thread carries the thread's state, so each one that changes gets its sync entry
    (devices hold replies too); the live event names the root.
    """
    root = first_or_404(_lock_comments().filter(pk=comment.thread_id), "No comment with this id.")
    thread = [root, *_lock_comments().filter(thread_id=root.thread_id).exclude(pk=root.pk).order_by("created_at", "pk")]
    olds = [comment_sync_data(member) for member in thread]
    now = timezone.now()
    stamp = {"resolved": resolved, "resolved_by": actor if resolved else None, "resolved_at": now if resolved else None}
    Comment.objects.filter(thread_id=root.thread_id).update(**stamp, updated_at=now)
    for member, old in zip(thread, olds, strict=True):
        for name, value in {**stamp, "updated_at": now}.items():
            setattr(member, name, value)
        if comment_sync_data(member) != old:
            _log(member, SyncLog.Operation.UPDATE, actor=actor, origin=origin, client=client, old=old)
    if comment_sync_data(root) != olds[0]:
        _tell(root, "resolve" if resolved else "reopen")
    return root


@transaction.atomic
def comment_react(
    *, actor, comment: Comment, emoji: str, origin: Origin = REST, client: ClientInfo | None = None
) -> tuple[bool, Comment]:
    """Toggle the caller in or out of an emoji's list under the comment's row lock; returns (added, comment)."""
    if not is_single_emoji(emoji):
        raise ValidationProblem({"emoji": ["One emoji, please."]})
    comment = _locked(comment)
    old = comment_sync_data(comment)
    reactions = [dict(entry, users=list(entry["users"])) for entry in comment.reactions]
    entry = next((entry for entry in reactions if entry["emoji"] == emoji), None)
    me = str(actor.pk)
    if entry is None:
        if len(reactions) >= MAX_DISTINCT_EMOJI:
            raise ValidationProblem({"emoji": [f"A comment holds at most {MAX_DISTINCT_EMOJI} different emoji."]})
        entry = {"emoji": emoji, "users": []}
        reactions.append(entry)
    added = me not in entry["users"]
    entry["users"] = [*entry["users"], me] if added else [pk for pk in entry["users"] if pk != me]
    comment.reactions = [item for item in reactions if item["users"]]  # an emptied emoji disappears
    comment.save(update_fields=["reactions", "updated_at"])
    _log(comment, SyncLog.Operation.UPDATE, actor=actor, origin=origin, client=client, old=old)
    _tell(comment, "react")
    return added, comment
