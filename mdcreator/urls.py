"""URL map: REST under /api/v1/, health probes, admin, OIDC and the API docs."""

from django.conf import settings
from django.contrib import admin, messages
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from mdcreator import views
from mdcreator.errors import RateLimitedError
from mdcreator.ratelimit import client_ip, hit


def admin_login(request, extra_context=None):
    """The admin's password sign-in, under the API login's limit: one counter per address and email for both.

    Over the limit the login page comes back with the reason as a 429, and no password is checked.
    """
    if request.method == "POST":
        email = str(request.POST.get("username", "")).strip().lower()
        try:
            hit("login", f"{client_ip(request)}|{email}", settings.RATE_LIMIT_LOGIN)
        except RateLimitedError as exc:
            messages.error(request, f"Too many sign-in attempts. Try again in {exc.retry_after} seconds.")
            request.method = "GET"  # render the empty form: the password is not looked at
            response = admin.site.login(request, extra_context)
            response.status_code = exc.status
            response["Retry-After"] = str(exc.retry_after)
            return response
    return admin.site.login(request, extra_context)


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
    path("admin/login/", admin_login),  # before the admin's own login/, which it replaces
    path("admin/", admin.site.urls),
    path("oidc/", include("mozilla_django_oidc.urls")),
]

handler400 = "mdcreator.views.handler400"
handler403 = "mdcreator.views.handler403"
handler404 = "mdcreator.views.handler404"
handler500 = "mdcreator.views.handler500"
