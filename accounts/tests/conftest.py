"""Fixtures shared by the accounts tests: the operators of the admin."""

from __future__ import annotations

import pytest

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
