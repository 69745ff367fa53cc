from django.urls import path

from sync import views

urlpatterns = [
    path("sync/workspaces/<str:wid>/since", views.SinceView.as_view(), name="sync-since"),
    path("sync/workspaces/<str:wid>/push", views.PushView.as_view(), name="sync-push"),
]
