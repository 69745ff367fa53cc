"""`ai/*` (SPEC §3.8)."""

from django.urls import path

from documents.ai import views

urlpatterns = [
    path("ai/generate", views.GenerateView.as_view(), name="ai-generate"),
    path("ai/generate-diagram", views.DiagramView.as_view(), name="ai-generate-diagram"),
    path("ai/keys", views.KeysView.as_view(), name="ai-keys"),
    path("ai/keys/<str:pk>", views.KeyView.as_view(), name="ai-key"),
    path("ai/usage", views.UsageView.as_view(), name="ai-usage"),
]
