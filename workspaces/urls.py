from django.urls import path

from workspaces.views import InvitationTokenViewSet, WorkspaceViewSet

workspace_list = WorkspaceViewSet.as_view({"get": "list", "post": "create"})
# PUT and POST members are the existing client's methods on these SPEC paths (SPEC §3.9).
workspace_detail = WorkspaceViewSet.as_view({
    "get": "retrieve",
    "patch": "partial_update",
    "put": "partial_update",
    "delete": "destroy",
})
workspace_members = WorkspaceViewSet.as_view({"get": "list_members", "post": "add_member"})

urlpatterns = [
    path("workspaces", workspace_list, name="workspace-list"),
    path("workspaces/<str:pk>", workspace_detail, name="workspace-detail"),
    path(
        "workspaces/<str:pk>/transfer-ownership",
        WorkspaceViewSet.as_view({"post": "transfer_ownership"}),
        name="workspace-transfer-ownership",
    ),
    path("workspaces/<str:pk>/members", workspace_members, name="workspace-members"),
    path(
        "workspaces/<str:pk>/members/invite",
        WorkspaceViewSet.as_view({"post": "invite"}),
        name="workspace-invite",
    ),
    path(
        "workspaces/<str:pk>/members/<str:user_id>",
        WorkspaceViewSet.as_view({"patch": "update_member", "delete": "remove_member"}),
        name="workspace-member",
    ),
    path(
        "workspaces/<str:pk>/invitations",
        WorkspaceViewSet.as_view({"get": "list_invitations"}),
        name="workspace-invitations",
    ),
    path(
        "workspaces/<str:pk>/invitations/<str:invitation_id>",
        WorkspaceViewSet.as_view({"delete": "revoke_invitation"}),
        name="workspace-invitation",
    ),
    path("invitations/<str:token>", InvitationTokenViewSet.as_view({"get": "retrieve"}), name="invitation"),
    path(
        "invitations/<str:token>/accept", InvitationTokenViewSet.as_view({"post": "accept"}), name="invitation-accept"
    ),
    path(
        "invitations/<str:token>/decline",
        InvitationTokenViewSet.as_view({"post": "decline"}),
        name="invitation-decline",
    ),
]
