"""Workspaces, members and invitations (SPEC §3.2): parse, call a selector or service, serialize."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.viewsets import ViewSet

from mdcreator.errors import ValidationProblem
from mdcreator.pagination import page_from
from mdcreator.validation import uuid_or_404, validated
from workspaces import selectors
from workspaces import serializers as s
from workspaces.access import access_from_membership
from workspaces.models import Invitation
from workspaces.permissions import WorkspaceAbility
from workspaces.services import invitations, members, workspaces
from workspaces.services.invitations import invitation_link

NO_CONTENT = {204: OpenApiResponse(description="Done")}
PAGE_PARAMS = [OpenApiParameter("limit", int), OpenApiParameter("offset", int)]


class WorkspaceViewSet(ViewSet):
    """Workspaces the caller belongs to, and what can be done to them."""

    permission_classes = [IsAuthenticated, WorkspaceAbility]

    def get_object(self):
        workspace, access = selectors.workspace_get(user=self.request.user, workspace_id=self.kwargs["pk"])
        workspace.access = access
        self.check_object_permissions(self.request, workspace)
        return workspace

    def _detail(self, workspace, *, status_code=200):
        refreshed, access = selectors.workspace_get(user=self.request.user, workspace_id=workspace.pk)
        refreshed.access = access
        return Response(s.WorkspaceDetailSerializer(refreshed).data, status=status_code)

    @extend_schema(
        tags=["workspaces"],
        parameters=[*PAGE_PARAMS, OpenApiParameter("type", str, enum=["personal", "team"])],
        responses=s.WorkspaceListSerializer,
    )
    def list(self, request):
        page = page_from(request.query_params, max_limit=100, default_limit=50)
        kind = request.query_params.get("type") or None
        if kind not in (None, "personal", "team"):
            raise ValidationProblem({"type": ["Must be personal or team."]})
        memberships = selectors.workspace_list(user=request.user, kind=kind)
        rows, names = [], selectors.count_names()
        for member in page.slice(memberships):
            workspace = selectors.copy_counts(member, names)
            workspace.access = access_from_membership(member)
            rows.append(workspace)
        listed = s.WorkspaceSerializer(rows, many=True).data
        return Response(
            {
                "workspaces": listed,
                "items": listed,  # the existing client's key (SPEC §3.9)
                "total": memberships.count(),
                "limit": page.limit,
                "offset": page.offset,
            }
        )

    @extend_schema(tags=["workspaces"], request=s.WorkspaceCreateSerializer, responses={201: s.WorkspaceDetailSerializer})
    def create(self, request):
        data = validated(s.WorkspaceCreateSerializer, request.data)
        workspace = workspaces.workspace_create(owner=request.user, **data)
        return self._detail(workspace, status_code=status.HTTP_201_CREATED)

    @extend_schema(tags=["workspaces"], responses=s.WorkspaceDetailSerializer)
    def retrieve(self, request, pk=None):
        workspace = self.get_object()
        return Response(s.WorkspaceDetailSerializer(workspace).data)

    @extend_schema(tags=["workspaces"], request=s.WorkspaceUpdateSerializer, responses=s.WorkspaceDetailSerializer)
    def partial_update(self, request, pk=None):
        workspace = self.get_object()
        data = validated(s.WorkspaceUpdateSerializer, request.data)
        workspaces.workspace_update(workspace=workspace, actor=request.user, data=data)
        return self._detail(workspace)

    @extend_schema(tags=["workspaces"], responses=NO_CONTENT)
    def destroy(self, request, pk=None):
        workspaces.workspace_delete(workspace=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["workspaces"], request=s.TransferSerializer, responses=s.WorkspaceDetailSerializer)
    def transfer_ownership(self, request, pk=None):
        workspace = self.get_object()
        data = validated(s.TransferSerializer, request.data)
        workspaces.workspace_transfer_ownership(
            workspace=workspace,
            actor=request.user,
            new_owner_id=data["new_owner_id"],
            demote_to=data["demote_current_owner_to"],
        )
        return self._detail(workspace)

    @extend_schema(tags=["members"], parameters=PAGE_PARAMS, responses=s.MemberListSerializer)
    def list_members(self, request, pk=None):
        workspace = self.get_object()
        page = page_from(request.query_params, max_limit=200, default_limit=50)
        rows = selectors.member_list(workspace=workspace)
        listed = s.ClientMemberSerializer(page.slice(rows), many=True).data
        # `data` and `workspace_id` are the existing client's keys (SPEC §3.9).
        return Response({"members": listed, "data": listed, "total": rows.count(), "workspace_id": str(workspace.pk)})

    @extend_schema(tags=["members"], request=s.ClientAddMemberSerializer, responses={201: s.InvitationCreatedSerializer})
    def add_member(self, request, pk=None):
        """The existing client's `POST members` (SPEC §3.9): an invitation by email, exactly as `members/invite`."""
        self.action = "invite"  # the same ability as members/invite: 404 for outsiders, 403 without the flag
        workspace = self.get_object()
        return self._invite(workspace, validated(s.ClientAddMemberSerializer, request.data))

    @extend_schema(tags=["members"], request=s.MemberUpdateSerializer, responses=s.MemberSerializer)
    def update_member(self, request, pk=None, user_id=None):
        workspace = self.get_object()
        data = validated(s.MemberUpdateSerializer, request.data)
        member = members.membership_update(
            workspace=workspace,
            actor=request.user,
            actor_access=workspace.access,
            user_id=uuid_or_404(user_id),
            role=data.get("role"),
            permissions=data.get("permissions"),
        )
        return Response(s.MemberSerializer(member).data)

    @extend_schema(tags=["members"], responses=NO_CONTENT)
    def remove_member(self, request, pk=None, user_id=None):
        target = uuid_or_404(user_id)
        # Leaving (removing oneself) is open to every member, and so is reaching the owner row,
        # which answers 409 cannot-remove-owner whoever asks (SPEC §10.21).
        self.action = "leave"
        workspace = self.get_object()
        if target not in (request.user.pk, workspace.owner_id):
            self.action = "remove_member"
            self.check_object_permissions(request, workspace)
        members.membership_remove(
            workspace=workspace, actor=request.user, actor_access=workspace.access, user_id=target
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(tags=["invitations"], request=s.InviteSerializer, responses={201: s.InvitationCreatedSerializer})
    def invite(self, request, pk=None):
        workspace = self.get_object()
        return self._invite(workspace, validated(s.InviteSerializer, request.data))

    def _invite(self, workspace, data: dict) -> Response:
        """Invite with validated `{email, role?, message}`; the 201 body of `members/invite`."""
        invitation, token = invitations.invitation_create(
            workspace=workspace,
            actor=self.request.user,
            actor_access=workspace.access,
            email=data["email"],
            role=data.get("role") or workspace.settings.get("default_permissions", "editor"),
            message=data["message"],
        )
        body = {
            "invitation_id": invitation.pk,
            "email": invitation.email,
            "role": invitation.role,
            "status": invitation.status,
            "token": token,
            "expires_at": invitation.expires_at,
            "invitation_link": invitation_link(token),
        }
        return Response(s.InvitationCreatedSerializer(body).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["invitations"],
        parameters=[*PAGE_PARAMS, OpenApiParameter("status", str, enum=[c for c, _ in Invitation.Status.choices])],
        responses=s.InvitationListSerializer,
    )
    def list_invitations(self, request, pk=None):
        workspace = self.get_object()
        page = page_from(request.query_params, max_limit=200, default_limit=50)
        wanted = request.query_params.get("status")
        if wanted and wanted not in Invitation.Status.values:
            raise ValidationProblem({"status": [f"Must be one of {', '.join(Invitation.Status.values)}."]})
        rows = selectors.invitation_list(workspace=workspace, status=wanted)
        return Response(
            {"invitations": s.InvitationSerializer(page.slice(rows), many=True).data, "total": rows.count()}
        )

    @extend_schema(tags=["invitations"], responses=NO_CONTENT)
    def revoke_invitation(self, request, pk=None, invitation_id=None):
        workspace = self.get_object()
        invitation = selectors.invitation_get(workspace=workspace, invitation_id=invitation_id)
        invitations.invitation_revoke(invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationTokenViewSet(ViewSet):
    """An invitation as seen by the person holding its token."""

    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["invitations"], responses=s.InvitationPublicSerializer)
    def retrieve(self, request, token=None):
        invitation = selectors.invitation_by_token(token=token)
        invitations.invitation_check_usable(invitation)
        return Response(s.InvitationPublicSerializer(invitation).data)

    @extend_schema(tags=["invitations"], request=None, responses=s.InvitationAcceptedSerializer)
    def accept(self, request, token=None):
        invitation, role = invitations.invitation_accept(token=token, user=request.user)
        document_id = str(invitation.document_id) if invitation.document_id else None
        body = {"workspace_id": str(invitation.workspace_id), "document_id": document_id, "role": role}
        # The existing client's keys (SPEC §3.9); `document_id` is null for a workspace invitation.
        shared = "the document" if document_id else "the workspace"
        return Response({**body, "success": True, "message": f"You now have access to {shared}."})

    @extend_schema(tags=["invitations"], request=None, responses=NO_CONTENT)
    def decline(self, request, token=None):
        invitations.invitation_decline(token=token, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
