"""Signing an operator in to the admin (the operator fixtures are in accounts/tests/conftest.py)."""

from __future__ import annotations


def signed_in(client, actor):
    client.force_login(actor)
    return client
