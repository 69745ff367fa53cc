"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Rate-limit counters and cached token states never leak between tests."""
    cache.clear()
    yield
    cache.clear()


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
