"""Fixtures shared by the accounts tests: the operators of the admin."""

from __future__ import annotations

import pytest

from accounts import emails
from accounts.services.staff import staff_grant
from accounts.tests.factories import UserFactory


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def support():
    member = UserFactory()
    staff_grant(user=member)
    return member


@pytest.fixture
def operator(request):
    """Each actor allowed to run the support actions (parametrize indirectly with "superuser" and "support")."""
    return request.getfixturevalue(request.param)


LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def background(settings):
    """Mail as production sends it: through the process's background worker (accounts.emails), delivered by
    `settings.EMAIL_DELIVERY_BACKEND` (the locmem outbox unless a test changes it); the worker must be done
    when the test ends."""
    settings.EMAIL_BACKEND = "accounts.emails.BackgroundEmailBackend"
    settings.EMAIL_DELIVERY_BACKEND = LOCMEM
    settings.EMAIL_RETRY_BACKOFF_SECONDS = 0.01
    yield settings
    assert emails.outbox_wait(timeout=60), "the background worker did not finish"
