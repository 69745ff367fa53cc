"""Fixtures shared by every app's tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import time_machine
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from workspaces.tests.team import Team, team_of_every_role


def _clear_cache() -> None:
    """Drop the cache's keys only: the channel layer may share the Redis database with live servers."""
    if settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        client = cache._cache.get_client(write=True)
        keys = list(client.scan_iter(match=f"{settings.CACHES['default']['KEY_PREFIX']}:*", count=1000))
        if keys:
            client.delete(*keys)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Rate-limit counters and cached token states never leak between tests."""
    _clear_cache()
    yield
    _clear_cache()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def auth_client(user):
    """An API client signed in as `user` through a real login session."""
    from accounts.services.sessions import ClientInfo, session_start

    client = APIClient()
    tokens = session_start(user=user, client=ClientInfo())
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.access_token}")
    client.tokens = tokens
    return client


@pytest.fixture
def support_client(db):
    """A Django test client signed in to the admin as support staff (is_staff, in the support group)."""
    from django.test import Client

    from accounts.services.staff import staff_grant

    staff = UserFactory()
    staff_grant(user=staff)
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture(scope="session")
def fake_providers_server():
    """One pair of fake AI providers (documents/tests/ai_fakes.py) for the whole test session."""
    from documents.tests.ai_fakes import FakeProviders

    with FakeProviders() as fakes:
        yield fakes


@pytest.fixture
def fake_providers(fake_providers_server):
    """The session's fake providers with empty recordings and the default keys."""
    fake_providers_server.reset(keys=True)
    yield fake_providers_server
    fake_providers_server.reset(keys=True)


@pytest.fixture
def team(db) -> Team:
    """A team workspace with one person per role and a non-member (works in transactional tests too)."""
    return team_of_every_role()


@pytest.fixture
def start_of_minute():
    """The test runs from the start of a minute (the clock still ticks): rate limits count in fixed windows,
    and a test crossing into the next one would start counting again."""
    start = datetime.fromtimestamp((time.time() // 60 + 1) * 60, UTC)
    with time_machine.travel(start, tick=True):
        yield
