"""DRF permission classes that only look up abilities (STYLE §2): the twin of workspaces.permissions."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


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
