"""DRF permission classes that only look up abilities (STYLE §2)."""

from rest_framework.permissions import BasePermission


class WorkspaceAbility(BasePermission):
    """The caller's access on the workspace (`obj.access`, from the resolver) grants the view's action."""

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.access.can(view.action)
