"""Bad input to every accounts endpoint: a 4xx problem, never a 500, never a partial write (SPEC §9)."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import jwt
import pytest
from django.conf import settings as django_settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.cache import cache
from django.test import Client

from accounts import urls as accounts_urls
from accounts.models import EmailCode, RefreshToken, User
from accounts.services.sessions import ClientInfo, session_start
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from workspaces.models import Workspace, WorkspaceMember

pytestmark = pytest.mark.django_db

JSON = "application/json"
UNKNOWN_EMAIL = "nobody@example.org"
UNKNOWN_REFRESH = "mdr_" + "A" * 43
WRONG_PASSWORD = "Wrong-Password-1"
RAW = "__raw_json_literal__"


class _LowCostArgon2(Argon2PasswordHasher):
    time_cost, memory_cost, parallelism = 1, 64, 1


# A genuine Argon2id hash, verified by the configured hasher, but with minimal cost
# parameters (like an account hashed before a cost bump): the hundreds of wrong-password
# checks below then take microseconds instead of a tenth of a second each.
LOW_COST_HASH = _LowCostArgon2().encode(DEFAULT_PASSWORD, _LowCostArgon2().salt())


@pytest.fixture
def user(db):
    """A factory user whose password (DEFAULT_PASSWORD) is cheap to check."""
    return UserFactory(password=LOW_COST_HASH)


# --- bad values per kind of field -------------------------------------------------------

STRING_WRONG_TYPES = [0, 1.5, True, {"a": "b"}, ["a"], None]


def _strings(*extra, nullable: bool = False) -> list:
    return [v for v in STRING_WRONG_TYPES if not (nullable and v is None)] + list(extra)


# Values each kind of field must refuse with 400 validation-error naming the field.
FIELD_BAD_VALUES = {
    "email": _strings(
        "",
        "not-an-email",
        "a b@example.com",
        "\U0001f600@example.com",
        "\u202eevil@example.com",
        "x" * 245 + "@example.com",
        "x" * 10_000 + "@example.com",
    ),
    "password": _strings("", "p" * 1025, "Pass-1" * 17_000),
    "password_optional": _strings("p" * 1025, "Pass-1" * 17_000),
    "display_name_signup": _strings("d" * 256),
    "display_name": _strings("", "d" * 256),
    "username": _strings("", "ab", "has space", "\u00fcml\u00e4ut", "u" * 41, nullable=True),
    "code": _strings("12345", "abcdef", "\u0661\u0662\u0663\u0664\u0665\u0666", "\uff11\uff12\uff13\uff14\uff15\uff16"),
    "device_id": _strings("d" * 256, nullable=True),
    "refresh_token": _strings("", "r" * 513),
    "refresh_token_optional": _strings("r" * 513, nullable=True),
    "bool": ["true", 1, "yes", [], None],
    "avatar_url": _strings(
        "javascript:alert(1)", "ftp://example.com/a.png", "https://example.com/" + "a" * 2040, nullable=True
    ),
    "bio": _strings("b" * 2001),
    "settings": ["{}", 1, True, [{"theme": "dark"}], None],
    "settings.theme": ["neon", 1, None, []],
    "settings.editor_mode": ["vim", None],
    "settings.ai_enabled": ["true", 1],
    "settings.notifications_enabled": [0, None],
    "settings.language": [1, None, "l" * 17],
}
STRING_KINDS = {
    "email",
    "password",
    "password_optional",
    "display_name_signup",
    "display_name",
    "username",
    "code",
    "device_id",
    "refresh_token",
    "refresh_token_optional",
    "avatar_url",
    "bio",
    "settings.language",
}

# --- the endpoint catalogue -----------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One route of accounts/urls.py, with a `base` body that reaches its service without writing."""

    name: str
    method: str
    path: str
    ok_status: int
    base_outcome: tuple[int, str | None]
    fields: dict[str, str] = field(default_factory=dict)  # body field -> FIELD_BAD_VALUES kind
    base: Callable[[User], dict] = lambda user: {}
    required: frozenset[str] = frozenset()
    empty_outcome: tuple[int, str | None] | None = None  # answer to `{}` when nothing is required
    is_authenticated: bool = False

    @property
    def has_body(self) -> bool:
        return self.method in ("post", "patch", "delete")

    def __str__(self) -> str:
        return self.name


SIGNUP_FIELDS = {
    "email": "email",
    "password": "password",
    "display_name": "display_name_signup",
    "username": "username",
}
ME_UPDATE_FIELDS = {
    "display_name": "display_name",
    "username": "username",
    "avatar_url": "avatar_url",
    "bio": "bio",
    "settings": "settings",
    "settings.theme": "settings.theme",
    "settings.editor_mode": "settings.editor_mode",
    "settings.ai_enabled": "settings.ai_enabled",
    "settings.notifications_enabled": "settings.notifications_enabled",
    "settings.language": "settings.language",
}


def _signup_base(user):
    # The address is taken, so the call stops at 409 before anything is written.
    return {"email": user.email, "password": "weakpass", "display_name": "New Person", "username": "new_person"}


def _endpoint_signup(name: str, path: str) -> Endpoint:
    return Endpoint(
        name, "post", path, ok_status=201, base_outcome=(409, "email-taken"),
        fields=SIGNUP_FIELDS, base=_signup_base, required=frozenset({"email", "password"}),
    )  # fmt: skip


# fmt: off
ENDPOINTS = [
    Endpoint("providers", "get", "/api/v1/auth/providers", ok_status=200, base_outcome=(200, None)),
    _endpoint_signup("signup", "/api/v1/auth/signup"),
    _endpoint_signup("register", "/api/v1/auth/register"),
    Endpoint(
        "confirm", "post", "/api/v1/auth/confirm", ok_status=200, base_outcome=(400, "invalid-code"),
        fields={"email": "email", "confirmation_code": "code"},
        base=lambda user: {"email": UNKNOWN_EMAIL, "confirmation_code": "123456"},
        required=frozenset({"email", "confirmation_code"}),
    ),
    Endpoint(
        "confirm-resend", "post", "/api/v1/auth/confirm/resend", ok_status=202, base_outcome=(202, None),
        fields={"email": "email"}, base=lambda user: {"email": UNKNOWN_EMAIL}, required=frozenset({"email"}),
    ),
    Endpoint(
        "login", "post", "/api/v1/auth/login", ok_status=200, base_outcome=(401, "invalid-credentials"),
        fields={"email": "email", "password": "password", "device_id": "device_id"},
        base=lambda user: {"email": user.email, "password": WRONG_PASSWORD, "device_id": "device-1"},
        required=frozenset({"email", "password"}),
    ),
    Endpoint(
        "refresh", "post", "/api/v1/auth/refresh", ok_status=200, base_outcome=(401, "invalid-token"),
        fields={"refresh_token": "refresh_token"}, base=lambda user: {"refresh_token": UNKNOWN_REFRESH},
        required=frozenset({"refresh_token"}),
    ),
    Endpoint(
        # An unknown refresh token falls back to signing out the caller's own session.
        "logout", "post", "/api/v1/auth/logout", ok_status=204, base_outcome=(204, None),
        fields={"refresh_token": "refresh_token_optional", "all_devices": "bool"},
        base=lambda user: {"refresh_token": UNKNOWN_REFRESH, "all_devices": False},
        empty_outcome=(204, None), is_authenticated=True,
    ),
    Endpoint(
        "password-reset", "post", "/api/v1/auth/password/reset", ok_status=202, base_outcome=(202, None),
        fields={"email": "email"}, base=lambda user: {"email": UNKNOWN_EMAIL}, required=frozenset({"email"}),
    ),
    Endpoint(
        "password-reset-confirm", "post", "/api/v1/auth/password/reset/confirm", ok_status=200,
        base_outcome=(400, "invalid-code"),
        fields={"email": "email", "code": "code", "new_password": "password"},
        base=lambda user: {"email": UNKNOWN_EMAIL, "code": "123456", "new_password": "Another-Pass-77"},
        required=frozenset({"email", "code", "new_password"}),
    ),
    Endpoint(
        "password-change", "post", "/api/v1/auth/password/change", ok_status=200,
        base_outcome=(401, "invalid-credentials"),
        fields={"current_password": "password", "new_password": "password"},
        base=lambda user: {"current_password": WRONG_PASSWORD, "new_password": "Another-Pass-77"},
        required=frozenset({"current_password", "new_password"}), is_authenticated=True,
    ),
    Endpoint("me", "get", "/api/v1/auth/me", ok_status=200, base_outcome=(200, None), is_authenticated=True),
    Endpoint(
        "me-update", "patch", "/api/v1/auth/me", ok_status=200, base_outcome=(200, None),
        fields=ME_UPDATE_FIELDS, empty_outcome=(200, None), is_authenticated=True,
    ),
    Endpoint(
        "me-delete", "delete", "/api/v1/auth/me", ok_status=204, base_outcome=(401, "invalid-credentials"),
        fields={"password": "password_optional"}, base=lambda user: {"password": WRONG_PASSWORD},
        empty_outcome=(401, "invalid-credentials"), is_authenticated=True,
    ),
    Endpoint(
        "me-export", "get", "/api/v1/auth/me/export", ok_status=200, base_outcome=(200, None),
        is_authenticated=True,
    ),
]
# fmt: on
BODY_ENDPOINTS = [e for e in ENDPOINTS if e.has_body]
AUTHENTICATED_ENDPOINTS = [e for e in ENDPOINTS if e.is_authenticated]

# --- request plumbing ------------------------------------------------------------------

_addresses = iter(range(1, 10**7))


def _fresh_ip() -> str:
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def _bearer(user) -> str:
    """A new session's access token: every case starts signed in, even after a logout."""
    return f"Bearer {session_start(user=user, client=ClientInfo()).access_token}"


def call(endpoint: Endpoint, body=None, *, authorization: str | None = None, **extra):
    """Send `body` (dict, or raw str/bytes) to `endpoint` from a fresh client address."""
    if authorization is not None:
        extra["HTTP_AUTHORIZATION"] = authorization
    extra.setdefault("REMOTE_ADDR", _fresh_ip())
    client = Client(raise_request_exception=False)
    if body is None:
        return client.generic(endpoint.method.upper(), endpoint.path, **extra)
    text = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.generic(endpoint.method.upper(), endpoint.path, text, content_type=JSON, **extra)


def with_field(base: dict, name: str, value) -> dict:
    """`base` with `name` (dotted for `settings.x`) set to `value`."""
    if name.startswith("settings."):
        return {**base, "settings": {name.split(".", 1)[1]: value}}
    return {**base, name: value}


def with_raw(base: dict, name: str, literal: str) -> str:
    """JSON text of `base` with `name` set to a raw JSON literal (numbers Python cannot hold, deep nesting)."""
    return json.dumps(with_field(base, name, RAW)).replace(json.dumps(RAW), literal)


# --- what must hold after every request ---------------------------------------------------

USER_COLUMNS = [f.attname for f in User._meta.concrete_fields if f.attname not in ("last_login", "last_seen_at")]


def snapshot() -> dict:
    """What a refused request could have written: all accounts rows (hence their counts), workspace counts."""
    return {
        "workspaces": Workspace.objects.count(),
        "memberships": WorkspaceMember.objects.count(),
        "users": sorted(User.objects.values_list(*USER_COLUMNS)),
        "refresh_tokens": sorted(RefreshToken.objects.values_list("id", "rotated_at", "revoked_at")),
        "email_codes": sorted(EmailCode.objects.values_list("id", "attempts", "used_at")),
    }


def assert_problem(response, status: int | None = None, slug: str | None = None) -> dict:
    """A well-formed problem body whose trace id is the response's request id."""
    assert response["Content-Type"] == "application/problem+json", response.content[:300]
    body = json.loads(response.content)
    assert body["type"].startswith("https://mdcreator.app/errors/")
    assert body["status"] == response.status_code
    assert body["title"] and body["detail"] and body["timestamp"]
    assert body["instance"] == response.request["PATH_INFO"]
    assert body["trace_id"] == response["X-Request-ID"]
    if status is not None:
        assert response.status_code == status, body
    if slug is not None:
        assert body["type"] == f"https://mdcreator.app/errors/{slug}", body
    return body


def assert_outcome(endpoint: Endpoint, response, before: dict, user) -> None:
    """Never 5xx; a 4xx is a problem that wrote nothing; a 2xx is the endpoint's documented status."""
    assert response.status_code < 500, response.content[:500]
    assert response["X-Request-ID"]
    if response.status_code >= 400:
        assert_problem(response)
        assert snapshot() == before
    else:
        assert response.status_code == endpoint.ok_status
    assert User.objects.values_list("password", "email").get(pk=user.pk) == (user.password, user.email)


def assert_expected(response, outcome: tuple[int, str | None]) -> None:
    status, slug = outcome
    assert response.status_code == status, response.content[:500]
    if slug:
        assert_problem(response, status, slug)


def run_case(endpoint: Endpoint, user, body=None, *, is_anonymous: bool = False, **kwargs):
    """One isolated request: a fresh rate-limit window, a fresh session, checked against a snapshot."""
    cache.clear()
    if endpoint.is_authenticated and not is_anonymous and "authorization" not in kwargs:
        kwargs["authorization"] = _bearer(user)
    before = snapshot()
    response = call(endpoint, body, **kwargs)
    assert_outcome(endpoint, response, before, user)
    return response


def errors_of(response) -> dict:
    return assert_problem(response, 400, "validation-error")["errors"]


# --- whole bodies ------------------------------------------------------------------------

NON_OBJECT_BODIES = ["null", "[]", '[{"email": "a@example.com"}]', '"a string"', "0", "-12.5", "true"]
MALFORMED_BODIES = [
    "{",
    '{"email": }',
    "{'email': 'a@example.com'}",
    '{"email": "a@example.com",}',
    "{} {}",
    "/* comment */ {}",
    "NaN",
    '{"a": -Infinity}',
    '{"a": 1e400}',
    '{"a": ' + "9" * 5000 + "}",
    "\ufeff{}",
    b"\xff\xfe{}",
    b'{"email": "\xed\xa0\x80@example.com"}',
    b'{"email": "\xc3\x28"}',
    "[" * 10_000 + "]" * 10_000,
    '{"a":' * 10_000 + "1" + "}" * 10_000,
    '{"settings": ' + "[" * 101 + "]" * 101 + "}",
    '{"settings": {"x": ' + "[" * 900 + "]" * 900 + "}}",
]


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_non_object_body_400_non_field_errors(user, endpoint, subtests):
    for raw in NON_OBJECT_BODIES:
        with subtests.test(body=raw):
            assert list(errors_of(run_case(endpoint, user, raw))) == ["non_field_errors"]


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_malformed_json_400_invalid_json(user, endpoint, subtests):
    for raw in MALFORMED_BODIES:
        with subtests.test(body=raw[:40]):
            assert_problem(run_case(endpoint, user, raw), 400, "invalid-json")


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if not e.has_body], ids=str)
def test_robustness_get_ignores_any_body_200(user, endpoint, subtests):
    for raw in [*NON_OBJECT_BODIES[:3], *MALFORMED_BODIES[:3], MALFORMED_BODIES[-1], b"\xff\xfe{}"]:
        with subtests.test(body=raw[:40]):
            assert run_case(endpoint, user, raw).status_code == endpoint.ok_status


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_empty_body_missing_fields_400(user, endpoint, subtests):
    for raw in ["", "{}", " \n\t{ }\n"]:
        with subtests.test(body=raw):
            response = run_case(endpoint, user, raw)
            if endpoint.required:
                assert set(errors_of(response)) == endpoint.required
            else:
                assert_expected(response, endpoint.empty_outcome)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_robustness_base_body_documented_outcome(user, endpoint):
    assert_expected(run_case(endpoint, user, endpoint.base(user) if endpoint.has_body else None), endpoint.base_outcome)


# --- one bad field at a time ----------------------------------------------------------------


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_wrong_type_or_format_400_naming_field(user, endpoint, subtests):
    base = endpoint.base(user)
    for name, kind in endpoint.fields.items():
        for value in FIELD_BAD_VALUES[kind]:
            with subtests.test(field=name, value=repr(value)[:40]):
                response = run_case(endpoint, user, with_field(base, name, value))
                assert name in errors_of(response)


UNICODE_VALUES = [
    "\U0001f600\U0001f469\u200d\U0001f469\u200d\U0001f467",
    "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u202eevil\u202c",
    "zero\u200bwidth\ufeff e\u0301\u0301",
    "line\u2028sep\u2029 \U0001d518\U0001d52b",
    "ctrl\x01\x1b[31m\x7f",
    "Aa1-" + "\U0001f600" * 200,
]
LONE_SURROGATES = ["\\ud800", "a\\udc00b", "\\ude00\\ud83d"]


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_unicode_strings_never_500(user, endpoint, subtests):
    base = endpoint.base(user)
    for name, kind in endpoint.fields.items():
        if kind not in STRING_KINDS:
            continue
        for value in UNICODE_VALUES:
            with subtests.test(field=name, value=value[:12]):
                response = run_case(endpoint, user, with_field(base, name, value))
                # Accepted, or refused with the base body's own outcome, or refused naming this field only.
                problem = json.loads(response.content) if response.status_code >= 400 else {}
                if "errors" in problem:
                    assert set(problem["errors"]) == {name}


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_lone_surrogate_400_naming_field(user, endpoint, subtests):
    base = endpoint.base(user)
    names = [name for name, kind in endpoint.fields.items() if kind in STRING_KINDS]
    if "settings" in endpoint.fields:
        names.append("settings.custom_key")  # unknown settings keys are stored as sent
    for name in names:
        for escaped in LONE_SURROGATES:
            with subtests.test(field=name, value=escaped):
                response = run_case(endpoint, user, with_raw(base, name, f'"{escaped}"'))
                assert list(errors_of(response)) == [name]


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_lone_surrogate_in_key_400(user, endpoint):
    text = json.dumps(endpoint.base(user))
    raw = text[:-1] + (", " if len(text) > 2 else "") + '"k\\ud800": 1}'
    assert list(errors_of(run_case(endpoint, user, raw))) == ["k\ud800"]


HUGE_NUMBERS = [str(10**30), str(-(2**63) - 1), "1e308", "9" * 4000]
OVERFLOWING_NUMBERS = ["1e400", "9" * 5000]


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_huge_numbers_400(user, endpoint, subtests):
    base = endpoint.base(user)
    for name in endpoint.fields:
        for literal in HUGE_NUMBERS + OVERFLOWING_NUMBERS:
            with subtests.test(field=name, value=literal[:20]):
                response = run_case(endpoint, user, with_raw(base, name, literal))
                if literal in OVERFLOWING_NUMBERS:
                    assert_problem(response, 400, "invalid-json")
                else:
                    assert name in errors_of(response)


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_deep_nesting_in_field_400(user, endpoint, subtests):
    base = endpoint.base(user)
    for name in endpoint.fields:
        for depth, nested in [
            (50, '{"a":' * 50 + "1" + "}" * 50),
            (101, "[" * 101 + "]" * 101),
            (900, '{"a":' * 900 + "1" + "}" * 900),
        ]:
            with subtests.test(field=name, depth=depth):
                response = run_case(endpoint, user, with_raw(base, name, nested))
                if depth > 100:
                    assert_problem(response, 400, "invalid-json")
                elif (endpoint.name, name) == ("me-update", "settings"):
                    assert response.status_code == 200  # a 50-level object is a legal free-form setting
                else:
                    assert name in errors_of(response)


def _good_value(endpoint: Endpoint, base: dict, name: str):
    return base.get(
        name,
        {
            "display_name": "Dup Name",
            "username": "dup_name",
            "avatar_url": None,
            "bio": "dup",
            "settings": {"theme": "dark"},
        }.get(name),
    )


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_duplicate_keys_last_one_wins(user, endpoint, subtests):
    base = endpoint.base(user)
    for name, kind in endpoint.fields.items():
        if name.startswith("settings."):
            continue
        good = json.dumps(_good_value(endpoint, base, name))
        bad = json.dumps(FIELD_BAD_VALUES[kind][0])
        text = json.dumps(with_field(base, name, RAW))
        with subtests.test(field=name, last="good"):
            response = run_case(endpoint, user, text.replace(json.dumps(RAW), f"{bad}, {json.dumps(name)}: {good}"))
            assert_expected(response, endpoint.base_outcome)
        with subtests.test(field=name, last="bad"):
            response = run_case(endpoint, user, text.replace(json.dumps(RAW), f"{good}, {json.dumps(name)}: {bad}"))
            assert name in errors_of(response)


UNKNOWN_FIELDS = {
    "unknown": "ignored",
    "id": "00000000-0000-4000-8000-000000000001",
    "is_staff": True,
    "is_superuser": True,
    "email_verified": True,
    "subscription_tier": "enterprise",
    "features": {"ai_proxy": True},
    "nested": {"deep": [1, {"x": None}]},
    "": "empty key",
    "\U0001f600": "emoji key",
}


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_unknown_fields_ignored(user, endpoint):
    response = run_case(endpoint, user, {**UNKNOWN_FIELDS, **endpoint.base(user)})
    assert_expected(response, endpoint.base_outcome)
    stored = User.objects.get(pk=user.pk)
    assert (stored.is_staff, stored.is_superuser, stored.subscription_tier) == (False, False, User.Tier.FREE)


def test_robustness_me_update_read_only_fields_ignored(user):
    endpoint = next(e for e in ENDPOINTS if e.name == "me-update")
    before = User.objects.values(*USER_COLUMNS).get(pk=user.pk)
    response = run_case(endpoint, user, {**UNKNOWN_FIELDS, "email": "taken-over@example.com", "bio": "kept"})
    assert response.status_code == 200
    after = User.objects.values(*USER_COLUMNS).get(pk=user.pk)
    assert {column for column in after if after[column] != before[column]} == {"bio", "updated_at"}
    assert json.loads(response.content)["email"] == user.email


def test_robustness_signup_extra_fields_not_assigned(api_client):
    body = {**UNKNOWN_FIELDS, "email": "fresh@example.org", "password": "Sturdy-Pass-42"}
    response = api_client.post("/api/v1/auth/signup", body, format="json", REMOTE_ADDR=_fresh_ip())
    assert response.status_code == 201
    created = User.objects.get(email="fresh@example.org")
    assert (created.is_staff, created.is_superuser, created.email_verified) == (False, False, False)
    assert created.subscription_tier == User.Tier.FREE
    assert str(created.pk) != UNKNOWN_FIELDS["id"]
    assert created.features["ai_proxy"] is False


# --- headers ---------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _raw_jwt(header: dict, payload: bytes) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(payload)}.{_b64(b'signature')}"


def _jwt(user, *, key=None, algorithm="HS256", **claims) -> str:
    now = int(datetime.now(timezone.utc).timestamp())
    payload = {
        "iss": django_settings.JWT_ISSUER,
        "aud": django_settings.JWT_AUDIENCE,
        "sub": str(user.pk),
        "sid": str(RefreshToken.objects.filter(user=user).values_list("family_id", flat=True).first()),
        "iat": now,
        "exp": now + 600,
        "jti": "robustness",
        "typ": "access",
        **claims,
    }
    if algorithm == "none":
        return jwt.encode(payload, None, algorithm="none")
    return jwt.encode(payload, key or django_settings.JWT_SIGNING_KEY, algorithm=algorithm)


def garbage_authorizations(user) -> dict[str, str]:
    """Authorization headers that must never authenticate anyone."""
    session_start(user=user, client=ClientInfo())  # a real family id for the forged tokens' `sid`
    basic = _b64(f"{user.email}:{DEFAULT_PASSWORD}".encode())
    return {
        "bearer-alone": "Bearer",
        "bearer-spaces": "Bearer  ",
        "basic-garbage": "Basic abc",
        "basic-real-credentials": f"Basic {basic}",
        "no-scheme": "abc.def.ghi",
        "two-tokens": "Bearer abc def",
        "garbage": "Bearer garbage",
        "alg-none": f"Bearer {_jwt(user, algorithm='none')}",
        "other-key": f"Bearer {_jwt(user, key='a-completely-different-signing-key-of-64-bytes-for-hs256-ok!!')}",
        "hs512-right-key": f"Bearer {_jwt(user, algorithm='HS512', key=django_settings.JWT_SIGNING_KEY * 2)}",
        "expired": f"Bearer {_jwt(user, iat=1_600_000_000, exp=1_600_000_600)}",
        "iat-null": f"Bearer {_jwt(user, iat=None)}",
        "wrong-audience": f"Bearer {_jwt(user, aud='another-api')}",
        "refresh-typ": f"Bearer {_jwt(user, typ='refresh')}",
        "sub-not-uuid": f"Bearer {_jwt(user, sub='../../etc/passwd')}",
        "sid-not-uuid": f"Bearer {_jwt(user, sid=12)}",
        "unknown-user": f"Bearer {_jwt(user, sub='00000000-0000-4000-8000-000000000000')}",
        "untrusted-issuer": f"Bearer {_jwt(user, iss='https://evil.example')}",
        "payload-array": f"Bearer {_raw_jwt({'alg': 'HS256', 'typ': 'JWT'}, b'[1, 2]')}",
        "header-alg-unknown": f"Bearer {_raw_jwt({'alg': 'XS999'}, b'{}')}",
        "header-not-object": f"Bearer {_b64(b'[]')}.{_b64(b'{}')}.{_b64(b'sig')}",
        "refresh-token-as-bearer": f"Bearer {session_start(user=user, client=ClientInfo()).refresh_token}",
        "very-long": "Bearer " + "A" * 100_000,
        "non-ascii": "Bearer h\u00e9llo.w\u00f6rld.\u00e7a",
        "nul": "Bearer abc\x00def",
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_robustness_garbage_authorization_401_or_ignored(user, endpoint, subtests):
    body = endpoint.base(user) if endpoint.has_body else None
    for label, header in garbage_authorizations(user).items():
        with subtests.test(authorization=label):
            response = run_case(endpoint, user, body, authorization=header)
            # Public endpoints ignore the Authorization header altogether.
            if endpoint.is_authenticated:
                problem = assert_problem(response, 401)
                assert problem["type"].rsplit("/", 1)[-1] in {"invalid-token", "token-expired"}
                assert response["WWW-Authenticate"] == 'Bearer realm="api"'
            else:
                assert_expected(response, endpoint.base_outcome)


@pytest.mark.parametrize("endpoint", AUTHENTICATED_ENDPOINTS, ids=str)
def test_robustness_anonymous_on_authenticated_endpoint_401_before_parsing(user, endpoint, subtests):
    for raw in ["", "{", "[]", '"\\ud800"', json.dumps(endpoint.base(user))]:
        with subtests.test(body=raw):
            response = run_case(endpoint, user, raw if endpoint.has_body else None, is_anonymous=True)
            assert_problem(response, 401, "authentication-required")
            assert response["WWW-Authenticate"] == 'Bearer realm="api"'


BAD_REQUEST_IDS = {
    "too-long": "r" * 65,
    "space": "has space",
    "non-ascii": "caf\u00e9",
    "crlf": "id\r\nX-Injected: 1",
    "nul": "id\x00",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=str)
def test_robustness_bad_request_id_replaced_outcome_unchanged(user, endpoint, subtests):
    body = endpoint.base(user) if endpoint.has_body else None
    for label, request_id in BAD_REQUEST_IDS.items():
        with subtests.test(request_id=label):
            response = run_case(endpoint, user, body, HTTP_X_REQUEST_ID=request_id)
            assert response["X-Request-ID"] != request_id
            assert len(response["X-Request-ID"]) == 32
            assert "X-Injected" not in response
            assert_expected(response, endpoint.base_outcome)


BAD_CONTENT_LENGTHS = {
    "not-a-number": ("abc", 400, "validation-error"),
    "float": ("1.5", 400, "validation-error"),
    "hex": ("0x10", 400, "validation-error"),
    "negative": ("-1", 400, "invalid-json"),
    "truncated": ("3", 400, "invalid-json"),
    "over-limit": (str(6 * 1024 * 1024 + 1), 413, "payload-too-large"),
    "absurd": ("9" * 30, 413, "payload-too-large"),
}


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_bad_content_length_4xx(user, endpoint, subtests):
    body = json.dumps(endpoint.base(user) or {"bio": "some text"})
    for label, (value, status, slug) in BAD_CONTENT_LENGTHS.items():
        with subtests.test(content_length=label):
            assert_problem(run_case(endpoint, user, body, CONTENT_LENGTH=value), status, slug)


# --- a deterministic fuzz loop ------------------------------------------------------------------

FUZZ_ROUNDS = 20
PLAIN_CHARS = "aZ09@.-_+ "
ODD_CHARS = "\x00\ud800\udfff\U0001f600\u202e\u200b\u0301\x7f\n\"\\\u2028\ufeff\u0661\u00e9<%'"


def _fuzz_string(rng: random.Random) -> str:
    length = rng.choice([0, 1, 3, 8, 20, 64, 255, 256, 1025, 3000])
    pool = PLAIN_CHARS if rng.random() < 0.7 else PLAIN_CHARS + ODD_CHARS
    return "".join(rng.choice(pool) for _ in range(length))


def _fuzz_value(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([0, -1, 7, 2**31, -(2**63), 10**40, rng.randrange(-(10**6), 10**6)])
    if kind == 3:
        return rng.choice([0.5, -0.0, 1e308, 5e-324, rng.uniform(-1e9, 1e9)])
    if kind in (4, 5, 6):
        return _fuzz_string(rng)
    if kind == 7:
        return [_fuzz_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {_fuzz_string(rng)[:12]: _fuzz_value(rng, depth + 1) for _ in range(rng.randrange(4))}


# Values that get past validation, so most rounds reach the services.
PLAUSIBLE = {
    "email": lambda user: [user.email, UNKNOWN_EMAIL, " NoBody@Example.ORG "],
    "password": lambda user: [WRONG_PASSWORD, "short", "Sturdy-Pass-42"],
    "password_optional": lambda user: [WRONG_PASSWORD, ""],
    "code": lambda user: ["123456", "000000"],
    "refresh_token": lambda user: [UNKNOWN_REFRESH],
    "refresh_token_optional": lambda user: [UNKNOWN_REFRESH, None, ""],
    "bool": lambda user: [True, False],
    "username": lambda user: ["fuzzy_name", None],
    "avatar_url": lambda user: ["https://example.com/a.png", None],
    "settings": lambda user: [{"theme": "dark"}, {"custom": [1, 2]}, {}],
    "display_name": lambda user: ["Fuzzy", "\U0001f600"],
    "display_name_signup": lambda user: ["", "Fuzzy"],
    "device_id": lambda user: ["device-9", None],
    "bio": lambda user: ["", "About me"],
}


def _fuzz_body(rng: random.Random, endpoint: Endpoint, user) -> bytes:
    """A plausible body with up to two fields replaced by random JSON, sometimes corrupted."""
    roll = rng.random()
    if roll < 0.1:
        return json.dumps(_fuzz_value(rng)).encode()
    body = {name: rng.choice(PLAUSIBLE[kind](user)) for name, kind in endpoint.fields.items() if kind in PLAUSIBLE}
    for name in rng.sample(sorted(endpoint.fields), k=rng.randrange(min(3, len(endpoint.fields) + 1))):
        body = with_field(body, name, _fuzz_value(rng))
    if rng.random() < 0.3:
        body[_fuzz_string(rng)[:16]] = _fuzz_value(rng)
    # Sometimes unescaped, so lone surrogates travel as invalid UTF-8 bytes.
    text = json.dumps(body, ensure_ascii=rng.random() < 0.8)
    if roll > 0.9:
        cut = rng.randrange(len(text) + 1)
        splice = "" if rng.random() < 0.5 else rng.choice(["\x00", "}", "{", ",", "\\", '"'])
        text = text[:cut] + splice + (text[cut:] if splice else "")
    return text.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS, ids=str)
def test_robustness_fuzz_fixed_seed_never_500(user, endpoint, subtests):
    rng = random.Random(f"mdcreator-robustness-{endpoint.name}")
    statuses = []
    for round_number in range(FUZZ_ROUNDS):
        body = _fuzz_body(rng, endpoint, user)
        with subtests.test(round=round_number):
            statuses.append(run_case(endpoint, user, body).status_code)
    assert len(statuses) == FUZZ_ROUNDS
    assert all(status < 500 for status in statuses)


# --- the catalogue itself -----------------------------------------------------------------------


def test_robustness_catalogue_covers_every_accounts_route():
    routed = set()
    for pattern in accounts_urls.urlpatterns:
        view_class = pattern.callback.view_class
        for method in view_class.http_method_names:
            if method not in ("options", "head") and hasattr(view_class, method):
                routed.add((method, f"/api/v1/{pattern.pattern}"))
    assert routed == {(e.method, e.path) for e in ENDPOINTS}
