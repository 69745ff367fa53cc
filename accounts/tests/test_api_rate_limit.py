"""The general API limit per user (`RATE_LIMIT_API`, SPEC §9) as bearer-token requests meet it."""

from __future__ import annotations

import pytest
from django.core.cache import caches

from accounts.services.sessions import ClientInfo, session_family_revoke, session_start
from accounts.tests.factories import UserFactory
from accounts.tests.helpers import bearer, problem_slug
from mdcreator.cache import RedisCache, redis_round_trips
from workspaces.tests.helpers import client_for

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me"


@pytest.fixture
def limit(settings, start_of_minute):
    settings.RATE_LIMIT_API = "3/minute"
    return 3


def test_api_rate_limit_counts_each_users_requests_and_answers_429_past_it(limit):
    first, second = UserFactory(), UserFactory()
    client = client_for(first)
    statuses = [client.get(ME).status_code for _ in range(limit + 1)]
    assert statuses == [200] * limit + [429]
    refused = client.get(ME)
    assert problem_slug(refused) == "rate-limited" and 0 < int(refused["Retry-After"]) <= 61
    # Another session of the same person shares the limit; another person has their own.
    assert client_for(first).get(ME).status_code == 429
    assert client_for(second).get(ME).status_code == 200


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
        assert bearer(api_client, ended.access_token).get(ME).status_code == 401
    if ended_by == "deactivated account":
        type(person).objects.filter(pk=person.pk).update(is_active=True)
    live = client_for(person)
    statuses = [live.get(ME).status_code for _ in range(limit + 1)]
    assert statuses == [200] * limit + [429]


def test_api_rate_limit_and_session_check_share_one_round_trip(auth_client):
    """An authenticated request asks Redis once: whether its session is revoked and its hit, together."""
    assert isinstance(caches["default"], RedisCache), "the suite runs on Redis (make test sets REDIS_URL)"
    assert auth_client.get(ME).status_code == 200  # the session's state is cached from here on
    with redis_round_trips() as sent:
        assert auth_client.get(ME).status_code == 200
    assert len(sent) == 1
