"""Live servers for the collaboration tests: daphne processes on the test database, real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.db import OperationalError, connection

from accounts.services.sessions import ClientInfo, session_start
from collab.tests.live import LIVE_MARKDOWN, wait_servers_idle
from collab.tests.rest_state import TEXT
from documents.services.documents import document_create

ROOT = Path(__file__).resolve().parents[2]
# daphne drops (without a close frame) messages over 1 MiB by default: above SPEC §5.4's 8 MiB, so that
# the consumer itself sees oversize messages and answers them with close 1009.
DAPHNE_WEBSOCKET_LIMITS = (
    "--websocket-max-message-size",
    str(16 * 1024 * 1024),
    "--websocket-max-frame-size",
    str(16 * 1024 * 1024),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_of_tests() -> str:
    """The URL of the database pytest-django created, for the server processes."""
    params = connection.settings_dict
    user = params.get("USER") or "postgres"
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"


class DaphneProcess:
    """One daphne serving the project on a free port; can be killed and restarted."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = Path(env["MDCREATOR_VAR_DIR"]) / f"daphne-{self.port}.log"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, *, request: bool = True) -> DaphneProcess:
        """Start and wait until it serves: until `/healthz` answers, or with `request=False` until the port
        accepts connections (no request reaches the application)."""
        command = [
            str(Path(sys.executable).parent / "daphne"),
            "-b",
            "127.0.0.1",
            "-p",
            str(self.port),
            *DAPHNE_WEBSOCKET_LIMITS,
            "mdcreator.asgi:application",
        ]
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if not request:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    return self
                if httpx.get(f"{self.http}/healthz", timeout=1).status_code == 200:
                    return self
            except (httpx.TransportError, OSError):
                time.sleep(0.1)
        raise RuntimeError(f"daphne did not start: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture(scope="session")
def server_env(django_db_setup, django_db_blocker, tmp_path_factory) -> dict[str, str]:
    """Environment of server processes: same database and Redis as the tests, a private log dir."""
    with django_db_blocker.unblock():
        database_url = database_url_of_tests()
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        MDCREATOR_VAR_DIR=str(tmp_path_factory.mktemp("daphne")),
        RATE_LIMIT_API="100000/minute",
        DATABASE_CONN_MAX_AGE="0",
    )
    return env


@pytest.fixture(scope="session")
def live_server_factory(server_env):
    """Start daphne processes on demand; all are stopped at the end of the session."""
    started: list[DaphneProcess] = []

    def start(**options) -> DaphneProcess:
        process = DaphneProcess(server_env).start(**options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def daphne(live_server_factory) -> DaphneProcess:
    """A daphne process shared by the tests that need only one."""
    return live_server_factory()


@pytest.fixture(scope="session")
def second_daphne(live_server_factory, daphne) -> DaphneProcess:
    """Another daphne on the same database and Redis, for the tests that span processes."""
    return live_server_factory()


# --- shared fixtures of the live-collaboration tests ---------------------------------------------


@pytest.fixture(autouse=True)
def _live_servers_settle(request):
    """Before the transactional flush, let the servers finish what the test's closed sockets started."""
    yield
    if {"daphne", "second_daphne", "live_server_factory"} & set(request.fixturenames):
        wait_servers_idle()


@pytest.fixture(scope="session", autouse=True)
def _flush_retries_deadlocks():
    """A server job racing the flush's TRUNCATE can deadlock with it; the flush is then simply retried."""
    operations = type(connection.ops)
    original = operations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        for attempt in range(5):
            try:
                return original(self, sql_list)
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.1)

    operations.execute_sql_flush = execute_sql_flush
    yield
    operations.execute_sql_flush = original


class Steps:
    """An event loop driven step by step: clients stay connected between steps, while the test
    does ORM work and HTTP calls in its own thread (the loop is not running then)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.clients: list = []

    def __call__(self, coroutine, timeout: float = 30.0):
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, timeout))

    def keep(self, client):
        """Remember a client (or socket) so that it is closed at the end of the test."""
        self.clients.append(client)
        return client

    def close(self) -> None:
        async def close_all():
            for client in self.clients:
                with contextlib.suppress(Exception):
                    await client.close()
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        self.loop.run_until_complete(close_all())
        self.loop.close()


@pytest.fixture
def steps():
    """The test's event loop for live clients; every kept client is closed at the end."""
    runner = Steps()
    yield runner
    runner.close()


@pytest.fixture
def tokens(team) -> dict[str, str]:
    """A fresh access token per actor of the team (no entry for "anonymous")."""
    return {actor: session_start(user=user, client=ClientInfo()).access_token for actor, user in team.users.items()}


@pytest.fixture
def live_doc(team):
    """A markdown document of the team workspace with two paragraphs under a heading."""
    return document_create(
        actor=team.user("owner"), workspace=team.workspace, data={"title": "Live notes", "content": LIVE_MARKDOWN}
    )


@pytest.fixture
def document(team):
    """A markdown document of the team workspace with a heading and one paragraph (rest_state.TEXT)."""
    return document_create(actor=team.user("owner"), workspace=team.workspace, data={"title": "Y", "content": TEXT})
