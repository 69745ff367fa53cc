from django.urls import path

from documents import views, views_comments, views_context_files, views_sharing, views_uploads

document = views.DocumentViewSet.as_view

urlpatterns = [
    path("workspaces/<str:wid>/documents", views.WorkspaceDocumentsView.as_view(), name="workspace-documents"),
    path("workspaces/<str:wid>/folders", views.WorkspaceFoldersView.as_view(), name="workspace-folders"),
    path("folders/<str:pk>", views.FolderView.as_view(), name="folder"),
    path("search", views.SearchView.as_view(), name="search"),
    # Before documents/<pk>, which would otherwise take "shared-with-me" as an id.
    path("documents/shared-with-me", views_sharing.SharedWithMeViewSet.as_view({"get": "list"}), name="shared-with-me"),
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
    path(
        "documents/<str:pk>/comments",
        views_comments.DocumentCommentsViewSet.as_view({"get": "list", "post": "create"}),
        name="document-comments",
    ),
    path(
        "comments/<str:pk>",
        views_comments.CommentViewSet.as_view(
            {"get": "retrieve", "patch": "partial_update", "put": "partial_update", "delete": "destroy"}
        ),
        name="comment",
    ),
    path("comments/<str:pk>/resolve", views_comments.CommentViewSet.as_view({"post": "resolve"}), name="comment-resolve"),
    path("comments/<str:pk>/reopen", views_comments.CommentViewSet.as_view({"post": "reopen"}), name="comment-reopen"),
    path("comments/<str:pk>/reactions", views_comments.CommentViewSet.as_view({"post": "react"}), name="comment-react"),
    path(
        "documents/<str:pk>/share-links",
        views_sharing.DocumentLinksViewSet.as_view({"get": "list", "post": "create"}),
        name="document-share-links",
    ),
    path(
        "documents/<str:pk>/share-links/<str:link_id>",
        views_sharing.DocumentLinksViewSet.as_view({"delete": "destroy"}),
        name="document-share-link",
    ),
    path("share-links/resolve", views_sharing.ShareLinkResolveView.as_view(), name="share-link-resolve"),
    path(
        "documents/<str:pk>/shares",
        views_sharing.DocumentSharesViewSet.as_view({"get": "list", "post": "create"}),
        name="document-shares",
    ),
    path(
        "documents/<str:pk>/shares/<str:share_id>",
        views_sharing.DocumentSharesViewSet.as_view({"patch": "partial_update", "delete": "destroy"}),
        name="document-share",
    ),
    path("uploads/presign", views_uploads.PresignView.as_view(), name="upload-presign"),
    path("uploads/local/<str:signed>", views_uploads.LocalUploadView.as_view(), name="upload-local"),
    path("uploads/<str:pk>/confirm", views_uploads.ConfirmView.as_view(), name="upload-confirm"),
    path("files/<str:signed>", views_uploads.LocalFileView.as_view(), name="file-download"),
    path(
        "documents/<str:pk>/attachments",
        views_uploads.DocumentAttachmentsView.as_view(),
        name="document-attachments",
    ),
    path("attachments/<str:pk>", views_uploads.AttachmentView.as_view(), name="attachment"),
    path(
        "documents/<str:pk>/context-files",
        views_context_files.DocumentContextFilesView.as_view(),
        name="document-context-files",
    ),
    path(
        "context-files/<str:pk>/confirm",
        views_context_files.ContextFileConfirmView.as_view(),
        name="context-file-confirm",
    ),
    path("context-files/<str:pk>", views_context_files.ContextFileView.as_view(), name="context-file"),
]
