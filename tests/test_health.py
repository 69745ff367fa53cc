"""Health probes and the API description (SPEC §0, §8)."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from accounts import urls as accounts_urls

pytestmark = pytest.mark.django_db

CHECKS = {"database", "migrations", "cache", "channel_layer", "storage"}
# A loopback port nothing listens on: connections are refused at once.
CLOSED_REDIS = "redis://127.0.0.1:1/0"

# What SPEC §3.1 says each accounts route accepts: method -> request body fields (None: no body).
ACCOUNT_ROUTES: dict[str, dict[str, set[str] | None]] = {
    "auth/providers": {"get": None},
    "auth/signup": {"post": {"email", "password", "display_name", "full_name", "username"}},
    "auth/register": {"post": {"email", "password", "display_name", "full_name", "username"}},
    "auth/confirm": {"post": {"email", "confirmation_code"}},
    "auth/confirm/resend": {"post": {"email"}},
    "auth/login": {"post": {"email", "password", "device_id"}},
    "auth/refresh": {"post": {"refresh_token"}},
    "auth/logout": {"post": {"refresh_token", "all_devices"}},
    "auth/password/reset": {"post": {"email"}},
    "auth/password/reset/confirm": {"post": {"email", "code", "new_password"}},
    "auth/password/change": {"post": {"current_password", "new_password"}},
    "auth/me": {
        "get": None,
        "patch": {"display_name", "username", "avatar_url", "bio", "settings"},
        # OpenAPI 3.0 defines no request body for DELETE, so the `password` body cannot be listed.
        "delete": None,
    },
    "auth/me/export": {"get": None},
}
REQUIRED_FIELDS = {
    "auth/signup": {"email", "password"},
    "auth/login": {"email", "password"},
    "auth/confirm": {"email", "confirmation_code"},
    "auth/confirm/resend": {"email"},
    "auth/password/reset": {"email"},
    "auth/password/reset/confirm": {"email", "code", "new_password"},
    "auth/password/change": {"current_password", "new_password"},
    "auth/refresh": {"refresh_token"},
}


def assert_problem(response, status: int, slug: str) -> dict:
    """Check the RFC 7807 shape of `response` and return its body."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["type"] == f"https://mdcreator.app/errors/{slug}"
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert body["instance"] == response.request["PATH_INFO"]
    assert re.match(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", body["timestamp"])
    assert body["trace_id"] == response["X-Request-ID"]
    return body


def routed_methods(view_class) -> set[str]:
    """HTTP methods a class-based view implements, without the automatic OPTIONS/HEAD."""
    return {m for m in view_class.http_method_names if m not in ("options", "head") and hasattr(view_class, m)}


# --- liveness -------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/healthz", "/api/v1/health"])
def test_health_liveness_anonymous_200_ok(url):
    response = Client().get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"status": "ok"}


@pytest.mark.parametrize("url", ["/healthz", "/api/v1/health", "/readyz"])
def test_health_probes_ignore_a_bad_token_200(url):
    response = Client().get(url, HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    assert response.status_code == 200


@pytest.mark.parametrize("url", ["/healthz", "/api/v1/health", "/readyz"])
def test_health_probes_answer_head_200_without_a_body(url):
    """The web client's connectivity check is a HEAD."""
    response = Client().head(url)
    assert response.status_code == 200
    assert response.content == b""


def test_health_readyz_head_reports_a_failing_dependency_503(settings):
    settings.CACHES = {"default": {"BACKEND": "mdcreator.cache.RedisCache", "LOCATION": CLOSED_REDIS}}
    response = Client().head("/readyz")
    assert response.status_code == 503 and response["Retry-After"] == "5"


def test_health_liveness_not_rate_limited(api_client):
    statuses = {api_client.get("/healthz").status_code for _ in range(30)}
    assert statuses == {200}


# --- readiness ------------------------------------------------------------------


def test_health_readyz_all_checks_ok_200():
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "checks": {name: "ok" for name in CHECKS}}
    assert "Retry-After" not in response


def test_health_readyz_cache_unreachable_503_with_retry_after(settings):
    settings.CACHES = {"default": {"BACKEND": "mdcreator.cache.RedisCache", "LOCATION": CLOSED_REDIS}}
    response = Client().get("/readyz")
    body = assert_problem(response, 503, "service-unavailable")
    assert response["Retry-After"] == "5"
    assert body["checks"] == {**{name: "ok" for name in CHECKS}, "cache": "failing"}
    assert "cache" in body["detail"]


def test_health_readyz_channel_layer_unreachable_503_with_retry_after(settings):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [CLOSED_REDIS]}}
    }
    response = Client().get("/readyz")
    body = assert_problem(response, 503, "service-unavailable")
    assert response["Retry-After"] == "5"
    assert body["checks"] == {**{name: "ok" for name in CHECKS}, "channel_layer": "failing"}


def test_health_readyz_recovers_once_dependency_is_back(settings):
    working = settings.CACHES
    settings.CACHES = {"default": {"BACKEND": "mdcreator.cache.RedisCache", "LOCATION": CLOSED_REDIS}}
    assert Client().get("/readyz").status_code == 503
    settings.CACHES = working
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert json.loads(response.content)["checks"]["cache"] == "ok"


def test_health_liveness_unaffected_by_failing_cache(settings):
    settings.CACHES = {"default": {"BACKEND": "mdcreator.cache.RedisCache", "LOCATION": CLOSED_REDIS}}
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok"}


# --- schema and docs ---------------------------------------------------------------


def test_health_schema_yaml_200():
    response = Client().get("/api/v1/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


@pytest.fixture
def schema() -> dict:
    response = Client().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    assert "json" in response["Content-Type"]
    return json.loads(response.content)


def test_health_schema_json_200(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "MD Creator API"
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_health_swagger_ui_200():
    response = Client().get("/api/v1/docs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"swagger" in response.content.lower()
    assert b"/api/v1/schema/" in response.content


def test_health_schema_route_table_matches_accounts_urls():
    """The table below is the contract; a route added to accounts/urls.py must be added to it."""
    routed = {str(p.pattern): routed_methods(p.callback.view_class) for p in accounts_urls.urlpatterns}
    assert routed == {route: set(methods) for route, methods in ACCOUNT_ROUTES.items()}


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = schema["components"]["schemas"][name]
    return node


@pytest.mark.parametrize(
    ("route", "method"), [(route, method) for route, methods in ACCOUNT_ROUTES.items() for method in methods]
)
def test_health_schema_lists_accounts_route_with_method_and_body(schema, route, method):
    operations = schema["paths"][f"/api/v1/{route}"]
    assert method in operations
    operation = operations[method]
    expected = ACCOUNT_ROUTES[route][method]
    if expected is None:
        assert "requestBody" not in operation
        return
    body_schema = _resolve(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert set(body_schema["properties"]) == expected
    required = REQUIRED_FIELDS.get(route.replace("auth/register", "auth/signup"), set())
    assert set(body_schema.get("required", [])) == required


def test_health_schema_lists_health_probes(schema):
    assert "get" in schema["paths"]["/api/v1/health"]
