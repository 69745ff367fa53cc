"""URL map: REST under /api/v1/, health probes, admin, OIDC and the API docs."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mdcreator import views

api_v1 = [
    path("health", views.healthz, name="api-health"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("accounts.urls")),
    path("", include("workspaces.urls")),
    path("", include("collab.urls")),
    # `documents/batch` (the existing client's offline batch) is no document id: before documents/{id}.
    path("", include("sync.client_api")),
    path("", include("documents.urls")),
    path("", include("documents.ai.urls")),
    path("", include("sync.urls")),
    # The existing web client's own paths (SPEC §3.9), after the SPEC paths they must not shadow.
    path("", include("workspaces.client_api")),
    path("", include("documents.client_api")),
    path("", include("collab.client_api")),  # documents/{id}/snapshot: merging Yjs state is collab's
    re_path(r"^.*$", views.not_found),
]

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
    path("oidc/", include("mozilla_django_oidc.urls")),
]

handler400 = "mdcreator.views.handler400"
handler403 = "mdcreator.views.handler403"
handler404 = "mdcreator.views.handler404"
handler500 = "mdcreator.views.handler500"
