"""DRF permission classes that only look up abilities (STYLE §2): the twin of workspaces.permissions."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from documents.models import Comment
from workspaces.selectors import workspace_get


def share_token(request) -> str | None:
    """The share link's token a request carries (`X-Share-Token`, SPEC §3.4), if any."""
    return request.headers.get("X-Share-Token") or None


class SignedInOrShareToken(BasePermission):
    """Signed-in callers, or anyone reading with a share link's token; the resolver decides the rest."""

    def has_permission(self, request, view) -> bool:
        if request.user and request.user.is_authenticated:
            return True
        return request.method in SAFE_METHODS and share_token(request) is not None


class DocumentAbility(BasePermission):
    """The caller's access on the object (`obj.access`, from the resolver) grants the view's action.

    The object is a document or folder, or the workspace whose collections a view lists or
    adds to; its access carries the abilities of that kind (workspaces.abilities).
    """

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.access.can(view.action)


def check_ability(view, obj, action: str) -> None:
    """Ask the view's permission classes about `action` on `obj`: 403 when its access does not grant it.

    For API views, which have no viewset action, and for viewset methods whose request picks the ability.
    """
    view.action = action
    view.check_object_permissions(view.request, obj)


def workspace_for(view, workspace_id, action: str):
    """The workspace a view lists in or adds to, with the caller's access, once `action` is allowed on it
    (404 for non-members, 403 without the ability)."""
    workspace, access = workspace_get(user=view.request.user, workspace_id=workspace_id, with_counts=False)
    workspace.access = access
    check_ability(view, workspace, action)
    return workspace


def comment_can(comment, user, action: str) -> bool:
    """Whether the caller may take `action` on one comment: the document's abilities (`comment.access`)
    plus authorship (§2.3). Only resolving and reopening need the thread's root (one query, for a reply)."""
    access = comment.access
    is_author = comment.author_id == getattr(user, "pk", None)
    if action in ("resolve", "reopen"):
        return access.can("resolve_comments") or (
            access.can("resolve_own_thread") and _started_thread(comment, user, is_author=is_author)
        )
    if action == "retrieve":
        return access.can("list_comments")
    if action == "partial_update":
        return is_author and access.can("comment")
    if action == "destroy":
        return access.can("moderate_comments") or (is_author and access.can("comment"))
    return action == "react" and access.can("comment")


def _started_thread(comment, user, *, is_author: bool) -> bool:
    """Whether `user` wrote the root of the comment's thread (looked up only for a reply)."""
    if comment.thread_id == comment.pk:
        return is_author
    return Comment.objects.filter(pk=comment.thread_id, author_id=getattr(user, "pk", None)).exists()


class CommentAbility(BasePermission):
    """The caller may take the view's action on the comment (`comment_can`)."""

    def has_object_permission(self, request, view, obj) -> bool:
        return comment_can(obj, request.user, view.action)
