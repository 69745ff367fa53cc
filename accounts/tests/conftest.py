"""Fixtures shared by the accounts tests."""

from accounts.tests.operators import operator, superuser, support  # noqa: F401  (fixtures)
