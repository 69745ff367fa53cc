"""The existing web client's workspaces paths (SPEC §3.9): thin views over this app's services, with the
client's envelopes; included after the SPEC paths, before the catch-all.

Alias methods on SPEC paths (`PUT workspaces/{id}`, `POST workspaces/{id}/members`) live in the core views."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from mdcreator.pagination import page_from
from mdcreator.validation import uuid_or_404, validated
from workspaces import selectors
from workspaces import serializers as s
from workspaces.access import access_from_membership
from workspaces.permissions import WorkspaceAbility
from workspaces.services import members


class ClientMemberRoleViewSet(ViewSet):
    """`PATCH workspaces/{id}/members/{user_id}/role {role}`: the SPEC member role change."""

    permission_classes = [IsAuthenticated, WorkspaceAbility]

    @extend_schema(tags=["client"], request=s.ClientMemberRoleSerializer, responses=s.ClientMemberSerializer)
    def update_member(self, request, pk=None, user_id=None):
        workspace, access = selectors.workspace_get(user=request.user, workspace_id=pk, with_counts=False)
        workspace.access = access
        self.check_object_permissions(request, workspace)
        data = validated(s.ClientMemberRoleSerializer, request.data)
        member = members.membership_update(
            workspace=workspace,
            actor=request.user,
            actor_access=access,
            user_id=uuid_or_404(user_id),
            role=data["role"],
        )
        return Response(s.ClientMemberSerializer(member).data)


class ClientUserWorkspacesViewSet(ViewSet):
    """`GET users/me/workspaces`: the caller's workspaces as `{data, total}` (`limit` ≤ 100, default 100)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(
        tags=["client"],
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses=s.ClientWorkspaceListSerializer,
    )
    def list(self, request):
        page = page_from(request.query_params, max_limit=100, default_limit=100)
        memberships = selectors.workspace_list(user=request.user)
        rows, names = [], selectors.count_names()
        for member in page.slice(memberships):
            workspace = selectors.copy_counts(member, names)
            workspace.access = access_from_membership(member)
            rows.append(workspace)
        return Response({"data": s.ClientWorkspaceSerializer(rows, many=True).data, "total": memberships.count()})


urlpatterns = [
    path(
        "workspaces/<str:pk>/members/<str:user_id>/role",
        ClientMemberRoleViewSet.as_view({"patch": "update_member"}),
        name="client-workspace-member-role",
    ),
    path("users/me/workspaces", ClientUserWorkspacesViewSet.as_view({"get": "list"}), name="client-user-workspaces"),
]
