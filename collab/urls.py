from django.urls import path

from collab import views

urlpatterns = [
    path("documents/<str:pk>/presence", views.PresenceView.as_view(), name="document-presence"),
    path("documents/<str:pk>/yjs-state", views.YjsStateView.as_view(), name="document-yjs-state"),
]
