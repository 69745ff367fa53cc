from django.urls import path

from documents import views

document = views.DocumentViewSet.as_view

urlpatterns = [
    path("workspaces/<str:wid>/documents", views.WorkspaceDocumentsView.as_view(), name="workspace-documents"),
    path("workspaces/<str:wid>/folders", views.WorkspaceFoldersView.as_view(), name="workspace-folders"),
    path("folders/<str:pk>", views.FolderView.as_view(), name="folder"),
    path("search", views.SearchView.as_view(), name="search"),
    path(
        "documents/<str:pk>",
        document({"get": "retrieve", "put": "update", "patch": "partial_update", "delete": "destroy"}),
        name="document",
    ),
    path("documents/<str:pk>/undelete", document({"post": "undelete"}), name="document-undelete"),
    path("documents/<str:pk>/star", document({"post": "star", "delete": "star"}), name="document-star"),
    path(
        "documents/<str:pk>/versions",
        document({"get": "list_versions", "post": "create_version"}),
        name="document-versions",
    ),
    path("documents/<str:pk>/versions/diff", document({"get": "diff"}), name="document-versions-diff"),
    path("documents/<str:pk>/versions/<str:number>", document({"get": "retrieve_version"}), name="document-version"),
    path("documents/<str:pk>/restore-version", document({"post": "restore_version"}), name="document-restore"),
]
