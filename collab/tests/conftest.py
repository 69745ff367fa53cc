"""Live servers for the collaboration tests: daphne processes on the test database, real sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


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

    def start(self) -> DaphneProcess:
        command = [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1", "-p", str(self.port),
                   "mdcreator.asgi:application"]
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.http}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
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

    def start() -> DaphneProcess:
        process = DaphneProcess(server_env).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def daphne(live_server_factory) -> DaphneProcess:
    """A daphne process shared by the tests that need only one."""
    return live_server_factory()
