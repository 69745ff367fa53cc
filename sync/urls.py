from django.urls import path

from sync import views

urlpatterns = [
    path("sync/workspaces/<str:wid>/since", views.SinceView.as_view(), name="sync-since"),
]
