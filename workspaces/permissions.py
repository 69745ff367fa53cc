"""DRF permission classes that only look up abilities (STYLE §2)."""

from rest_framework.permissions import BasePermission

from workspaces.access import workspace_abilities


class WorkspaceAbility(BasePermission):
    """The caller's access on the workspace (`obj.access`) grants the view's action."""

    def has_object_permission(self, request, view, obj) -> bool:
        return workspace_abilities(obj.access).get(view.action, False)
