"""URL map of the existing client's document paths; included after the SPEC paths, before the catch-all."""

from django.urls import path

from documents.client_api import documents, folders, sharing, snapshots

urlpatterns: list = [
    # Snapshots (version history) and sharing: documents.client_api.snapshots / .sharing.
    path("documents/<str:pk>/snapshots", snapshots.SnapshotsView.as_view(), name="client-document-snapshots"),
    path(
        "documents/<str:pk>/snapshots/<str:sid>", snapshots.SnapshotView.as_view(), name="client-document-snapshot-detail"
    ),
    path(
        "documents/<str:pk>/snapshots/<str:sid>/download",
        snapshots.SnapshotDownloadView.as_view(),
        name="client-document-snapshot-download",
    ),
    path(
        "documents/<str:pk>/snapshots/<str:sid>/restore",
        snapshots.SnapshotRestoreView.as_view(),
        name="client-document-snapshot-restore",
    ),
    path("documents/<str:pk>/invite", sharing.DocumentInviteView.as_view(), name="client-document-invite"),
    path("documents/<str:pk>/members", sharing.DocumentMembersView.as_view(), name="client-document-members"),
    path(
        "documents/<str:pk>/members/<str:member_id>",
        sharing.DocumentMemberView.as_view(http_method_names=["delete", "options"]),
        name="client-document-member",
    ),
    path(
        "documents/<str:pk>/members/<str:member_id>/role",
        sharing.DocumentMemberView.as_view(http_method_names=["post", "options"]),
        name="client-document-member-role",
    ),
    path("share/validate", sharing.ShareValidateView.as_view(), name="client-share-validate"),
    # Documents and folders: documents.client_api.documents / .folders.
    path("documents", documents.ClientDocumentsView.as_view(), name="client-documents"),
    path(
        "documents/workspace/<str:wid>",
        documents.ClientWorkspaceDocumentsView.as_view(),
        name="client-workspace-documents",
    ),
    path("folders", folders.ClientFoldersView.as_view(), name="client-folders"),
    path("folders/workspace/<str:wid>", folders.ClientWorkspaceFoldersView.as_view(), name="client-workspace-folders"),
    path("folders/<str:pk>/move", folders.ClientFolderMoveView.as_view(), name="client-folder-move"),
]
