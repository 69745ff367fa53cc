"""Provider tokens that must not sign anyone in: 401 invalid-token, nothing stored (SPEC §3.1)."""

import base64
import datetime as dt
import json
import uuid

import jwt
import pytest
import time_machine
from django.conf import settings

from accounts.oidc import audience_is_accepted, authenticate_oidc_token
from accounts.tests.helpers import problem_slug
from mdcreator.errors import InvalidTokenError

pytestmark = pytest.mark.django_db


def _me(client, token):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/v1/auth/me")


def _b64url_json(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict, dict, str]:
    header, payload, signature = token.split(".")
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False}), signature


def _other_subject(token: str) -> str:
    header, payload, signature = _parts(token)
    return ".".join((_b64url_json(header), _b64url_json({**payload, "sub": "someone-else"}), signature))


def _flipped_signature(token: str) -> str:
    head, body, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[len(raw) // 2] ^= 0xFF
    return ".".join((head, body, base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()))


def _unsigned(token: str) -> str:
    header, payload, _ = _parts(token)
    return ".".join((_b64url_json({**header, "alg": "none"}), _b64url_json(payload), ""))


def _hmac_with_client_secret(token: str) -> str:
    header, payload, _ = _parts(token)
    return jwt.encode(payload, settings.OIDC_RP_CLIENT_SECRET, algorithm="HS256", headers={"kid": header["kid"]})


def _truncated(token: str) -> str:
    return token.rsplit(".", 1)[0]


@pytest.mark.parametrize(
    "tamper", [_other_subject, _flipped_signature, _unsigned, _hmac_with_client_secret, _truncated]
)
def test_oidc_tampered_token_is_401(api_client, oidc_provider, person, stored_users, tamper):
    token = oidc_provider.sign_in(person)["access_token"]
    before = stored_users()

    response = _me(api_client, tamper(token))

    assert response.status_code == 401
    assert problem_slug(response) == "invalid-token"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert stored_users() == before


def _moment(epoch: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)


def test_oidc_expired_token_is_401(api_client, oidc_provider, person, stored_users):
    token = oidc_provider.sign_in(person)["access_token"]
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]
    before = stored_users()

    with time_machine.travel(_moment(expires + 61), tick=False):
        response = _me(api_client, token)

    assert response.status_code == 401
    assert problem_slug(response) == "invalid-token"
    assert "expired" in response.json()["detail"]
    assert stored_users() == before


def test_oidc_token_expired_within_leeway_is_accepted(api_client, oidc_provider, person):
    token = oidc_provider.sign_in(person)["id_token"]
    expires = jwt.decode(token, options={"verify_signature": False})["exp"]

    with time_machine.travel(_moment(expires + 30), tick=False):
        response = _me(api_client, token)

    assert response.status_code == 200, response.content


@pytest.mark.parametrize("kind", ["other_client_id_token", "other_resource_access_token"])
def test_oidc_wrong_audience_is_401(api_client, oidc_provider, person, stored_users, kind):
    if kind == "other_client_id_token":
        token = oidc_provider.sign_in(person, client_id=oidc_provider.other_client_id, resource=None)["id_token"]
    else:
        token = oidc_provider.sign_in(person, resource="urn:other:api")["access_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["aud"] == "urn:other:api" and claims["client_id"] == oidc_provider.client_id
    before = stored_users()

    response = _me(api_client, token)

    assert response.status_code == 401
    assert problem_slug(response) == "invalid-token"
    assert stored_users() == before


def test_oidc_wrong_issuer_is_401(api_client, disposable_provider, person, stored_users):
    token = disposable_provider.sign_in(person)["access_token"]
    before = stored_users()

    response = _me(api_client, token)

    assert response.status_code == 401
    assert problem_slug(response) == "invalid-token"
    assert stored_users() == before


def test_oidc_wrong_issuer_is_refused_before_any_key_lookup(oidc_provider, disposable_provider, person):
    token = disposable_provider.sign_in(person)["access_token"]
    key_fetches = oidc_provider.requests_to("/jwks")

    with pytest.raises(InvalidTokenError, match="issued by the configured identity provider"):
        authenticate_oidc_token(token)

    assert oidc_provider.requests_to("/jwks") == key_fetches


def _with_kid(token: str, kid: str) -> str:
    header, payload, signature = _parts(token)
    return ".".join((_b64url_json({**header, "kid": kid}), _b64url_json(payload), signature))


def test_oidc_unknown_kid_refetches_keys_once_per_kid(api_client, oidc_provider, person, stored_users):
    token = oidc_provider.sign_in(person)["access_token"]
    unknown = _with_kid(token, f"retired-{uuid.uuid4()}")
    before = stored_users()
    key_fetches = oidc_provider.requests_to("/jwks")

    first = _me(api_client, unknown)
    after_first = oidc_provider.requests_to("/jwks")
    again = _me(api_client, unknown)
    after_again = oidc_provider.requests_to("/jwks")
    other = _me(api_client, _with_kid(token, f"retired-{uuid.uuid4()}"))

    assert [first.status_code, again.status_code, other.status_code] == [401, 401, 401]
    assert {problem_slug(first), problem_slug(again), problem_slug(other)} == {"invalid-token"}
    # The first sight loads the key set and refetches it once; a repeat within a minute
    # fetches nothing; another unknown kid gets its own single refetch.
    assert after_first == key_fetches + 2
    assert after_again == after_first
    assert oidc_provider.requests_to("/jwks") == after_again + 1
    assert stored_users() == before


@pytest.mark.parametrize(
    ("claims", "accepted"),
    [
        ({"aud": "mdcreator"}, True),
        ({"aud": ["another-api", "mdcreator"]}, True),
        ({"aud": "another-app"}, False),
        ({"aud": ["another-app"]}, False),
        ({"client_id": "mdcreator", "token_use": "access"}, True),
        ({"client_id": "mdcreator", "token_use": "id"}, False),
        ({"client_id": "another-app", "token_use": "access"}, False),
        ({"aud": "another-api", "client_id": "mdcreator", "token_use": "access"}, False),
        ({}, False),
    ],
)
def test_oidc_audience_rule_accepts_only_this_client(claims, accepted):
    assert audience_is_accepted(claims) is accepted
