"""The general API limit per user (`RATE_LIMIT_API`, SPEC §9) as bearer-token requests meet it."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from accounts.services.sessions import ClientInfo, session_family_revoke, session_start
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import bearer, problem_slug
from mdcreator.cache import RedisCache, redis_round_trips

pytestmark = pytest.mark.django_db


@pytest.fixture
def limit(settings):
    settings.RATE_LIMIT_API = "3/minute"
    return 3


def test_api_rate_limit_counts_each_users_requests_and_answers_429_past_it(limit, api_client):
    first, second = UserFactory(), UserFactory()
    first_token = session_start(user=first, client=ClientInfo()).access_token
    statuses = [bearer(api_client, first_token).get("/api/v1/auth/me").status_code for _ in range(limit + 1)]
    assert statuses == [200] * limit + [429]
    refused = api_client.get("/api/v1/auth/me")
    assert problem_slug(refused) == "rate-limited" and 0 < int(refused["Retry-After"]) <= 61
    # Another session of the same person shares the limit; another person has their own.
    assert bearer(api_client, session_start(user=first, client=ClientInfo()).access_token).get(
        "/api/v1/auth/me"
    ).status_code == 429
    second_token = session_start(user=second, client=ClientInfo()).access_token
    assert bearer(api_client, second_token).get("/api/v1/auth/me").status_code == 200


@pytest.mark.parametrize("ended_by", ["revoked session", "deactivated account"])
def test_api_rate_limit_refused_tokens_use_up_none_of_the_limit(limit, api_client, ended_by):
    """A token that is refused (401) leaves the person's limit as it was, however often it is presented."""
    person = UserFactory()
    ended = session_start(user=person, client=ClientInfo())
    if ended_by == "revoked session":
        session_family_revoke(family_id=ended.session_id, reason="logout")
    else:
        type(person).objects.filter(pk=person.pk).update(is_active=False)
    for _ in range(limit + 2):
        assert bearer(api_client, ended.access_token).get("/api/v1/auth/me").status_code == 401
    if ended_by == "deactivated account":
        type(person).objects.filter(pk=person.pk).update(is_active=True)
    live = session_start(user=person, client=ClientInfo()).access_token
    statuses = [bearer(api_client, live).get("/api/v1/auth/me").status_code for _ in range(limit + 1)]
    assert statuses == [200] * limit + [429]


def test_api_rate_limit_and_session_check_share_one_round_trip(auth_client):
    """An authenticated request asks Redis once: whether its session is revoked and its hit, together."""
    assert isinstance(caches["default"], RedisCache), "the suite runs on Redis (make test sets REDIS_URL)"
    assert auth_client.get("/api/v1/auth/me").status_code == 200  # the session's state is cached from here on
    with redis_round_trips() as sent:
        assert auth_client.get("/api/v1/auth/me").status_code == 200
    assert len(sent) == 1
