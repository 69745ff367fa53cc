"""The pool's health check (mdcreator/postgresql): skipped for a connection handed out a moment ago, made for one
that sat idle, so that a connection the server dropped meanwhile is replaced before a request gets it."""

from __future__ import annotations

import time

import pytest
from django.db import connection, connections
from psycopg_pool import ConnectionPool

from mdcreator.postgresql import base

pytestmark = pytest.mark.django_db


@pytest.fixture
def wrapper():
    """A database wrapper of its own on the test database, borrowing from the process's pool as a request
    thread does (the test's own connection stays in its transaction)."""
    assert isinstance(connections["default"], base.DatabaseWrapper), "the suite runs on PostgreSQL with the pool"
    own = base.DatabaseWrapper({**connection.settings_dict}, alias="default")
    assert own.pool is connections["default"].pool
    yield own
    own.close()


@pytest.fixture
def checks_made(monkeypatch) -> list:
    """The connections the pool health-checks from here on (the check still runs)."""
    original, made = ConnectionPool.check_connection, []

    def counted(conn):
        made.append(conn)
        original(conn)

    monkeypatch.setattr(ConnectionPool, "check_connection", staticmethod(counted))
    return made


def borrow_pid(wrapper) -> int:
    """Borrow a connection from the pool for one query; the server process behind it."""
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    wrapper.close()  # back to the pool, as at the end of a request
    return pid


def test_postgresql_pool_checks_a_connection_once_while_it_is_in_steady_use(wrapper, checks_made):
    pids = [borrow_pid(wrapper) for _ in range(6)]
    # Each idle connection of the pool is checked when first handed out, then not while in steady use
    # (Django's stock check made six).
    assert len(checks_made) == len(set(pids)) < 6


def test_postgresql_pool_replaces_a_connection_the_server_dropped_while_it_was_idle(wrapper, monkeypatch):
    monkeypatch.setattr(base, "RECENT_SECONDS", 0.2)
    first = borrow_pid(wrapper)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
    time.sleep(0.3)
    later = [borrow_pid(wrapper) for _ in range(6)]  # no error reaches a caller: the check found it dead
    assert first not in later
