"""Every error is an RFC 7807 problem with a trace id (SPEC §0, §9)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import jwt
import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from accounts.models import RefreshToken, User
from accounts.tests.factories import DEFAULT_PASSWORD
from mdcreator import urls as root_urls

pytestmark = pytest.mark.django_db

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "timestamp", "trace_id"}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")
JSON = "application/json"
SIX_MIB = 6 * 1024 * 1024
INTERNAL_SECRET = "db-password=hunter2 at /srv/app/internal.py"


# --- a test-only URL map whose views crash (used through the `urls` marker) ---


def _crashing_django_view(request):
    raise RuntimeError(INTERNAL_SECRET)


class _CrashingApiView(APIView):
    authentication_classes = []
    permission_classes = [AllowAny]

    def get(self, request):
        raise KeyError(INTERNAL_SECRET)


urlpatterns = [
    path("crash", _crashing_django_view),
    path("api/v1/crash", _CrashingApiView.as_view()),
    *root_urls.urlpatterns,
]
handler400 = root_urls.handler400
handler403 = root_urls.handler403
handler404 = root_urls.handler404
handler500 = root_urls.handler500


# --- helpers -------------------------------------------------------------------


def assert_problem(response, status: int, slug: str, *, instance: str | None = None) -> dict:
    """Check the full RFC 7807 shape of `response` and return its body."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert PROBLEM_KEYS <= body.keys()
    assert body["type"] == f"https://mdcreator.app/errors/{slug}"
    assert isinstance(body["title"], str) and body["title"]
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    assert body["instance"] == (response.request["PATH_INFO"] if instance is None else instance)
    assert TIMESTAMP.match(body["timestamp"]), body["timestamp"]
    stamped = datetime.strptime(body["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert abs(datetime.now(timezone.utc) - stamped) < timedelta(minutes=1)
    assert body["trace_id"] == response["X-Request-ID"]
    return body


def post_json(client, url: str, body, **extra):
    text = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, text, content_type=JSON, **extra)


def login_body(user, password: str = "Wrong-Password-1") -> dict:
    return {"email": user.email, "password": password}


_SIGNING_KEY = object()


def access_token(user, *, key=_SIGNING_KEY, algorithm: str = "HS256", **claims) -> str:
    """A JWT shaped like a local access token of `user`; `key`/`algorithm` allow forgeries."""
    now = int(datetime.now(timezone.utc).timestamp())
    payload = {
        "iss": django_settings.JWT_ISSUER,
        "aud": django_settings.JWT_AUDIENCE,
        "sub": str(user.pk),
        "sid": str(RefreshToken.objects.filter(user=user).values_list("family_id", flat=True).first()),
        "iat": now,
        "exp": now + 600,
        "jti": "test-jti",
        "typ": "access",
        **claims,
    }
    return jwt.encode(payload, django_settings.JWT_SIGNING_KEY if key is _SIGNING_KEY else key, algorithm=algorithm)


# --- 404 / 405 / 415 -------------------------------------------------------------


@pytest.mark.parametrize("url", ["/api/v1/nope", "/api/v1/auth/login/", "/api/v1/workspaces-that-never-were/1"])
def test_problems_unknown_api_path_404(api_client, url):
    body = assert_problem(api_client.get(url), 404, "not-found")
    assert set(body) == PROBLEM_KEYS


@pytest.mark.parametrize("url", ["/nope", "/api", "/static-nothing/x.js", "/admin-not-really"])
def test_problems_unknown_non_api_path_404(url):
    body = assert_problem(Client().get(url), 404, "not-found")
    assert set(body) == PROBLEM_KEYS


@pytest.mark.parametrize(
    ("url", "instance"),
    [
        ("/api/v1/%ff", "/api/v1/%FF"),
        ("/api/v1/auth/me%00", "/api/v1/auth/me\x00"),
        ("/%2e%2e/%2e%2e/etc/passwd", "/../../etc/passwd"),
        ("/api/v1/" + "a" * 10_000, "/api/v1/" + "a" * 10_000),
    ],
    ids=["invalid-utf8", "nul", "dot-dot", "very-long"],
)
def test_problems_odd_paths_404(url, instance):
    body = assert_problem(Client().get(url), 404, "not-found", instance=instance)
    assert set(body) == PROBLEM_KEYS


@pytest.mark.parametrize(("url", "status"), [("/api/v1/auth/login", 405), ("/nope", 404)])
def test_problems_unknown_http_method_405_or_404(url, status):
    response = Client().generic("PROPFIND", url)
    assert_problem(response, status, "method-not-allowed" if status == 405 else "not-found")


@pytest.mark.parametrize("host", ["evil.example", "bad host!", "127.0.0.1:notaport"])
def test_problems_disallowed_host_400(host):
    response = Client().get("/api/v1/auth/providers", HTTP_HOST=host)
    assert_problem(response, 400, "validation-error")


def test_problems_post_to_unknown_api_path_404(api_client):
    assert_problem(post_json(api_client, "/api/v1/nope", {}), 404, "not-found")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_problems_writes_to_unknown_api_paths_404_not_csrf_403(method):
    """With CSRF checks on (a browser without the cookie), an unknown path is still a 404: the web
    client's retry queue retries 403s forever and drops 404s."""
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)("/api/v1/documents/d1/snapshot-that-never-was", "{}", content_type="application/json")
    assert_problem(response, 404, "not-found")


@pytest.mark.parametrize(
    ("method", "url", "allowed"),
    [
        ("get", "/api/v1/auth/login", {"POST", "OPTIONS"}),
        ("put", "/api/v1/auth/signup", {"POST", "OPTIONS"}),
        ("delete", "/api/v1/auth/providers", {"GET", "HEAD", "OPTIONS"}),
        ("post", "/healthz", {"GET", "HEAD", "OPTIONS"}),
    ],
)
def test_problems_wrong_method_on_public_view_405_with_allow(api_client, method, url, allowed):
    response = getattr(api_client, method)(url)
    assert_problem(response, 405, "method-not-allowed")
    assert {m.strip() for m in response["Allow"].split(",")} == allowed


def test_problems_wrong_method_on_authenticated_view_405_with_allow(auth_client):
    response = auth_client.put("/api/v1/auth/me", {"bio": "x"}, format="json")
    assert_problem(response, 405, "method-not-allowed")
    assert {m.strip() for m in response["Allow"].split(",")} == {"GET", "PATCH", "DELETE", "HEAD", "OPTIONS"}


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "application/json-patch+json", ""],
)
def test_problems_body_with_other_content_type_415(api_client, user, content_type):
    response = api_client.generic(
        "POST", "/api/v1/auth/login", f"email={user.email}&password={DEFAULT_PASSWORD}", content_type=content_type
    )
    assert_problem(response, 415, "unsupported-media-type")
    assert not RefreshToken.objects.exists()


def test_problems_multipart_form_to_login_415(user):
    response = Client().post("/api/v1/auth/login", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert_problem(response, 415, "unsupported-media-type")
    assert not RefreshToken.objects.exists()


# --- 400 invalid-json / validation-error / NUL ----------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        b'{"email": ',
        b"{'email': 'a@example.com'}",
        b'{"email": "a@example.com",}',
        b"{} trailing",
        b"\xff\xfe{}",
        b'{"email": "\xc3\x28"}',
        b"\xef\xbb\xbf{}",
        b'{"email": NaN}',
        b'{"email": Infinity}',
        b'{"email": -Infinity}',
        b'{"email": 1e400}',
        b'{"email": ' + b"9" * 5000 + b"}",
        b"[" * 10_000 + b"]" * 10_000,
        b'{"settings": ' + b'{"a": ' * 101 + b"1" + b"}" * 102,
    ],
    ids=[
        "truncated",
        "single-quotes",
        "trailing-comma",
        "trailing-garbage",
        "invalid-utf8-prefix",
        "invalid-utf8-in-string",
        "utf8-bom",
        "nan",
        "infinity",
        "minus-infinity",
        "float-overflow",
        "integer-too-long",
        "nested-10000",
        "nested-101-objects",
    ],
)
def test_problems_malformed_json_400_invalid_json(api_client, raw):
    body = assert_problem(post_json(api_client, "/api/v1/auth/login", raw), 400, "invalid-json")
    assert "errors" not in body


def test_problems_missing_fields_400_validation_error_per_field(api_client):
    body = assert_problem(post_json(api_client, "/api/v1/auth/login", {}), 400, "validation-error")
    assert set(body["errors"]) == {"email", "password"}
    assert all(isinstance(m, str) and m for msgs in body["errors"].values() for m in msgs)


def test_problems_wrong_types_400_validation_error_per_field(api_client):
    response = post_json(api_client, "/api/v1/auth/login", {"email": 12, "password": ["x"], "device_id": {}})
    body = assert_problem(response, 400, "validation-error")
    assert set(body["errors"]) == {"email", "password", "device_id"}


@pytest.mark.parametrize("raw", ["[]", '[{"email": "a@example.com"}]', '"a@example.com"', "42", "true", "null"])
def test_problems_non_object_body_400_non_field_errors(api_client, raw):
    body = assert_problem(post_json(api_client, "/api/v1/auth/login", raw), 400, "validation-error")
    assert list(body["errors"]) == ["non_field_errors"]
    assert body["errors"]["non_field_errors"]


def test_problems_nul_in_string_400_names_field(api_client, user):
    response = post_json(api_client, "/api/v1/auth/login", {"email": user.email, "password": "pass\u0000word"})
    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == ["password"]
    assert "NUL" in body["errors"]["password"][0]
    assert not RefreshToken.objects.filter(user=user).exists()


@pytest.mark.parametrize(
    ("settings_value", "path"),
    [
        ({"theme": "dark\u0000"}, "settings.theme"),
        ({"custom": {"deeper": ["fine", "bad\u0000"]}}, "settings.custom.deeper.1"),
        ({"key\u0000": 1}, "settings.key\u0000"),
    ],
)
def test_problems_nul_nested_in_me_settings_400_names_path(auth_client, user, settings_value, path):
    before = User.objects.values("settings", "updated_at").get(pk=user.pk)
    response = auth_client.patch(
        "/api/v1/auth/me", {"display_name": "Changed", "settings": settings_value}, format="json"
    )
    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == [path]
    assert User.objects.values("settings", "updated_at").get(pk=user.pk) == before
    assert User.objects.get(pk=user.pk).display_name == user.display_name


@pytest.mark.parametrize("text", ["\\ud800", "\\udfff", "a\\udc00b", "\\ud83d"])
def test_problems_lone_surrogate_in_me_settings_400_names_path(auth_client, user, text):
    before = User.objects.values("settings", "updated_at").get(pk=user.pk)
    raw = '{"settings": {"custom": "' + text + '"}}'
    response = auth_client.generic("PATCH", "/api/v1/auth/me", raw, content_type=JSON)
    body = assert_problem(response, 400, "validation-error")
    assert list(body["errors"]) == ["settings.custom"]
    assert User.objects.values("settings", "updated_at").get(pk=user.pk) == before


def test_problems_infinite_number_in_me_settings_400_invalid_json(auth_client, user):
    before = User.objects.values("settings").get(pk=user.pk)
    response = auth_client.generic("PATCH", "/api/v1/auth/me", '{"settings": {"zoom": 1e999}}', content_type=JSON)
    assert_problem(response, 400, "invalid-json")
    assert User.objects.values("settings").get(pk=user.pk) == before


def test_problems_deeply_nested_me_settings_400_invalid_json(auth_client, user):
    before = User.objects.values("settings").get(pk=user.pk)
    raw = '{"settings": {"tree": ' + "[" * 900 + "]" * 900 + "}}"
    response = auth_client.generic("PATCH", "/api/v1/auth/me", raw, content_type=JSON)
    assert_problem(response, 400, "invalid-json")
    assert User.objects.values("settings").get(pk=user.pk) == before


# --- 413 -------------------------------------------------------------------------


def test_problems_body_over_6_mib_413(api_client, user):
    raw = json.dumps(login_body(user)).encode() + b" " * (SIX_MIB)
    assert len(raw) > SIX_MIB
    body = assert_problem(post_json(api_client, "/api/v1/auth/login", raw), 413, "payload-too-large")
    assert str(SIX_MIB) in body["detail"]


def test_problems_content_length_over_6_mib_413_before_reading(api_client, user):
    response = post_json(api_client, "/api/v1/auth/login", login_body(user), CONTENT_LENGTH=str(SIX_MIB + 1))
    assert_problem(response, 413, "payload-too-large")


def test_problems_body_of_exactly_6_mib_is_read(api_client):
    raw = b"{}" + b" " * (SIX_MIB - 2)
    body = assert_problem(post_json(api_client, "/api/v1/auth/login", raw), 400, "validation-error")
    assert set(body["errors"]) == {"email", "password"}


def test_problems_oversized_body_on_authenticated_endpoint_413(auth_client, user):
    raw = json.dumps({"bio": "x" * (SIX_MIB + 10)})
    response = auth_client.generic("PATCH", "/api/v1/auth/me", raw, content_type=JSON)
    assert_problem(response, 413, "payload-too-large")
    assert User.objects.get(pk=user.pk).bio == user.bio


# --- 401 -------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "url"), [("get", "/api/v1/auth/me"), ("post", "/api/v1/auth/logout")])
def test_problems_no_token_401_authentication_required(api_client, method, url):
    response = getattr(api_client, method)(url)
    assert_problem(response, 401, "authentication-required")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "header",
    [
        "Bearer garbage",
        "Bearer a.b.c",
        "Bearer",
        "Bearer  ",
        "Bearer two tokens",
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "abc.def.ghi",
    ],
)
def test_problems_garbage_bearer_401_invalid_token(user, header):
    response = Client().get("/api/v1/auth/me", HTTP_AUTHORIZATION=header)
    assert_problem(response, 401, "invalid-token")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda user: access_token(user, key=None, algorithm="none"), id="alg-none"),
        pytest.param(lambda user: access_token(user, key="another-signing-key-of-32-bytes!!"), id="other-key"),
        pytest.param(lambda user: access_token(user, typ="refresh"), id="wrong-type"),
        pytest.param(lambda user: access_token(user, aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda user: access_token(user, sub="not-a-uuid"), id="sub-not-uuid"),
        pytest.param(lambda user: access_token(user, iss="https://evil.example"), id="untrusted-issuer"),
    ],
)
def test_problems_forged_jwt_401_invalid_token(auth_client, user, make_token):
    response = Client().get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {make_token(user)}")
    assert_problem(response, 401, "invalid-token")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_problems_expired_jwt_401_token_expired(auth_client, user):
    token = access_token(user, iat=1_600_000_000, exp=1_600_000_900)
    response = Client().get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert_problem(response, 401, "token-expired")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_problems_wrong_password_401_invalid_credentials(api_client, user):
    response = post_json(api_client, "/api/v1/auth/login", login_body(user))
    assert_problem(response, 401, "invalid-credentials")


# --- 429 -------------------------------------------------------------------------


def test_problems_eleventh_login_in_a_minute_429_with_retry_after(api_client, user):
    # Frozen 5 s into a minute so the fixed window cannot roll over mid-test.
    with time_machine.travel(datetime(2031, 3, 4, 12, 30, 5, tzinfo=timezone.utc), tick=False):
        for _ in range(10):
            assert post_json(api_client, "/api/v1/auth/login", login_body(user)).status_code == 401
        response = post_json(api_client, "/api/v1/auth/login", login_body(user, DEFAULT_PASSWORD))
        body = assert_problem_frozen(response, 429, "rate-limited")
        assert response["Retry-After"] == "56"
        assert "56" in body["detail"]
        # Per IP + email: the same address from elsewhere, or another address, still gets through.
        other_ip = post_json(api_client, "/api/v1/auth/login", login_body(user), REMOTE_ADDR="10.9.8.7")
        other_email = post_json(api_client, "/api/v1/auth/login", {"email": "else@example.com", "password": "x"})
    assert other_ip.status_code == 401
    assert other_email.status_code == 401
    assert not RefreshToken.objects.filter(user=user).exists()


def assert_problem_frozen(response, status: int, slug: str) -> dict:
    """`assert_problem` for a response produced under a frozen clock."""
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert body["type"] == f"https://mdcreator.app/errors/{slug}"
    assert body["status"] == status
    assert body["instance"] == response.request["PATH_INFO"]
    assert body["timestamp"] == "2031-03-04T12:30:05.000Z"
    assert body["trace_id"] == response["X-Request-ID"]
    return body


# --- 403 CSRF ---------------------------------------------------------------------


def test_problems_csrf_failure_403_problem(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": user.email, "password": DEFAULT_PASSWORD})
    body = assert_problem(response, 403, "permission-denied")
    assert "CSRF" in body["detail"]
    assert "_auth_user_id" not in client.session


# --- 500 -------------------------------------------------------------------------


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("url", ["/crash", "/api/v1/crash"])
def test_problems_unhandled_exception_500_without_internals(url):
    response = Client(raise_request_exception=False).get(url)
    body = assert_problem(response, 500, "internal-error")
    assert set(body) == PROBLEM_KEYS
    text = response.content.decode()
    assert INTERNAL_SECRET not in text
    assert "Traceback" not in text
    assert "RuntimeError" not in text and "KeyError" not in text


@pytest.mark.urls(__name__)
def test_problems_500_keeps_client_request_id(user):
    response = Client(raise_request_exception=False).get("/api/v1/crash", HTTP_X_REQUEST_ID="crash-report-42")
    body = assert_problem(response, 500, "internal-error")
    assert body["trace_id"] == "crash-report-42"


# --- 503 ---------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "url"), [("get", "/api/v1/auth/me"), ("post", "/api/v1/auth/login")])
def test_problems_cache_unreachable_503_with_retry_after(auth_client, user, settings, method, url):
    # A loopback port nothing listens on: the rate limiter and session cache cannot reach Redis.
    settings.CACHES = {
        "default": {"BACKEND": "mdcreator.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    response = getattr(auth_client, method)(url, login_body(user), format="json")
    body = assert_problem(response, 503, "service-unavailable")
    assert response["Retry-After"] == "5"
    assert "redis" not in response.content.decode().lower()
    assert set(body) == PROBLEM_KEYS


# --- X-Request-ID -------------------------------------------------------------------


@pytest.mark.parametrize("request_id", ["client-req-0001", "a" * 64, "!#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "7"])
def test_problems_valid_request_id_echoed_and_used_as_trace_id(api_client, request_id):
    response = api_client.get("/api/v1/nope", HTTP_X_REQUEST_ID=request_id)
    assert response["X-Request-ID"] == request_id
    assert assert_problem(response, 404, "not-found")["trace_id"] == request_id


@pytest.mark.parametrize(
    "request_id",
    ["a" * 65, "has space", "tab\there", "del\x7f", "caf\u00e9", "", "evil\r\nSet-Cookie: x=1", "nul\x00"],
    ids=["too-long", "space", "tab", "del", "non-ascii", "empty", "header-injection", "nul"],
)
def test_problems_invalid_request_id_replaced_by_generated_one(api_client, request_id):
    response = api_client.get("/api/v1/nope", HTTP_X_REQUEST_ID=request_id)
    generated = response["X-Request-ID"]
    assert generated != request_id
    assert GENERATED_ID.match(generated)
    assert assert_problem(response, 404, "not-found")["trace_id"] == generated
    assert "Set-Cookie" not in response


def test_problems_request_ids_are_unique_per_request(api_client):
    ids = {api_client.get("/api/v1/nope")["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


def test_problems_request_id_on_success_responses(api_client):
    response = api_client.get("/api/v1/auth/providers", HTTP_X_REQUEST_ID="ok-path-1")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "ok-path-1"
