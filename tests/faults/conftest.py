"""Fixtures of the fault tests."""

from __future__ import annotations

import pytest

from tests.faults.servers import Stack


@pytest.fixture
def stack_with(tmp_path):
    """Start a private stack (its own PostgreSQL, Redis and daphne) with extra settings; closed after the test,
    whether or not it started."""
    started: list[Stack] = []

    def start(**settings: str) -> Stack:
        running = Stack(tmp_path, **settings)
        started.append(running)
        return running.start()

    yield start
    for running in started:
        running.close()
