"""Private PostgreSQL and Redis servers for the fault tests, and a stack of daphne processes on them.

The fault tests stop and restart their engines: they never touch the machine's shared servers. Each
test gets its own PostgreSQL cluster (Debian's binaries, a data directory under /tmp) and its own
redis-server, both on free loopback ports, then migrates the database and starts daphne on them.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from collab.tests.conftest import ROOT, DaphneProcess, free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PASSWORD = "Fault-tolerant-passw0rd!"
ROUNDS = max(1, int(os.environ.get("FAULTS_ROUNDS", "1")))


def _wait_port(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


class PrivatePostgres:
    """A PostgreSQL cluster of its own; runs as the `postgres` account when the tests run as root."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="mdc-faults-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:  # initdb refuses to run as root
            account = pwd.getpwnam("postgres")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync")

    def _run(self, *command, check: bool = True) -> subprocess.CompletedProcess:
        argv = [str(part) for part in command]
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if check and result.returncode:
            raise RuntimeError(f"{argv} failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
        return result

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """An immediate shutdown: every session is cut at once, the next start recovers from the WAL."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)

    def create_database(self, name: str) -> str:
        self._run(PG_BIN / "createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", name)
        return self.url(name)

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class PrivateRedis:
    """A redis-server of its own, without persistence: a restart forgets everything, as a new node would."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.dir = directory
        self.log = directory / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        command = [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", str(self.dir)]
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        _wait_port(self.port)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self, down_for: float = 1.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()


class Stack:
    """Private PostgreSQL and Redis, a migrated database, daphne processes on them and a signed-in account."""

    def __init__(self, directory: Path, **settings: str) -> None:
        self.dir = directory
        self.settings = settings
        self.postgres = PrivatePostgres()
        self.redis = PrivateRedis(directory)
        self.daphnes: list[DaphneProcess] = []
        self.env: dict[str, str] = {}

    def start(self) -> Stack:
        self.postgres.start()
        self.redis.start()
        database = self.postgres.create_database("mdcreator_faults")
        var_dir = self.dir / "var"
        var_dir.mkdir(exist_ok=True)
        self.env = dict(os.environ)
        self.env.update(
            DATABASE_URL=database,
            REDIS_URL=self.redis.url(0),
            MDCREATOR_VAR_DIR=str(var_dir),
            ACCOUNTS_EMAIL_CONFIRMATION="False",
            **self.settings,
        )
        self.manage("migrate", "--noinput", "--verbosity", "0")
        return self

    def manage(self, *arguments: str) -> str:
        result = subprocess.run([sys.executable, "manage.py", *arguments], cwd=ROOT, env=self.env,
                                capture_output=True, text=True, timeout=300)
        if result.returncode:
            raise RuntimeError(f"manage.py {' '.join(arguments)} failed: {result.stdout[-2000:]}{result.stderr[-3000:]}")
        return result.stdout

    def daphne(self) -> DaphneProcess:
        process = DaphneProcess(self.env).start()
        self.daphnes.append(process)
        return process

    def account(self, server: DaphneProcess) -> tuple[str, str]:
        """A new verified account: (email, access token from the login endpoint)."""
        email = f"faults-{uuid.uuid4().hex[:10]}@example.com"
        self.manage("create_user", "--email", email, "--password", PASSWORD, "--verified")
        response = httpx.post(f"{server.http}/api/v1/auth/login", json={"email": email, "password": PASSWORD}, timeout=30)
        assert response.status_code == 200, response.text
        return email, response.json()["access_token"]

    def logs(self) -> str:
        """The tail of every daphne log, for failure messages."""
        return "\n".join(f"--- {p.log.name}\n{p.log.read_text()[-4000:]}" for p in self.daphnes if p.log.exists())

    def close(self) -> None:
        for process in self.daphnes:
            process.stop()
        self.redis.stop()
        self.postgres.destroy()


# --- live editors that survive faults ---------------------------------------------------------------


class Editor:
    """A live editor typing numbered words into one block of a document, as a provider would.

    When the server closes its socket the editor reconnects with everything it holds, so what was not
    acknowledged is sent again (a provider's behaviour). `closes` records the close codes it saw.
    """

    def __init__(self, server: DaphneProcess, document_id: str, token: str, *, dialect: str, block: int, word: str):
        self.server, self.document_id, self.token = server, document_id, token
        self.dialect, self.block, self.word = dialect, block, word
        self.client = None
        self.typed = 0
        self.closes: list[int | str | None] = []  # close codes, "silent" for a socket neither served nor closed
        self.silence = 30.0  # how long a connection attempt may stay silent before the editor gives up on it

    @property
    def words(self) -> list[str]:
        return [f"{self.word}{index}" for index in range(self.typed)]

    @property
    def text(self) -> str:
        return self.client.text if self.client else ""

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.synced.is_set() and self.client.close_code is None

    async def connect(self, timeout: float = 90.0) -> None:
        """(Re)connect with the document this editor holds; retried until the server syncs it."""
        from collab.tests.yclient import HocuspocusClient, YWebsocketClient

        state = self.client.doc.get_update() if self.client else None
        deadline = time.monotonic() + timeout
        while True:
            if self.client is not None:
                await self.client.close()
            try:
                if self.dialect == "hocuspocus":
                    self.client = await HocuspocusClient.connect(self.server.ws, self.document_id, self.token, state=state)
                else:
                    self.client = await YWebsocketClient.connect(
                        self.server.ws, self.document_id, self.token, state=state, events=False
                    )
                await self.client.wait_for(lambda: self.client.synced.is_set() or self.client.close_code is not None,
                                           self.silence)
                if self.client.close_code is None:
                    return
                self.closes.append(self.client.close_code)
            except OSError as error:  # refused
                self.closes.append(repr(error))
            except AssertionError:  # accepted, then neither served nor closed
                self.closes.append("silent")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.word}: no sync within {timeout:.0f} s; closes {self.closes}")
            await asyncio.sleep(0.5)

    async def type_one(self) -> None:
        """Append the next word; reconnect first when the server closed the socket."""
        if self.client.close_code is not None:
            self.closes.append(self.client.close_code)
            await self.connect()
        run = self.client.fragment.children[self.block].children[0]
        run.insert(len(run), f" {self.word}{self.typed}")
        self.typed += 1
        await asyncio.sleep(0)

    async def type_for(self, seconds: float, interval: float = 0.1) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self.type_one()
            await asyncio.sleep(interval)

    async def acknowledged(self, timeout: float = 30.0) -> None:
        """Wait until the server acknowledged everything sent on this connection (Hocuspocus SyncStatus)."""
        client = self.client
        await client.wait_for(lambda: len(client.statuses) == len(client.sent), timeout)
        assert set(client.statuses) <= {1}, client.statuses


def stored_text(database_url: str, document_id: str) -> str:
    """The document PostgreSQL holds (compacted state plus later update rows), as XML text."""
    import psycopg
    import pycrdt

    from collab.models import CollabState, CollabUpdate
    from mdcreator.sql import with_tables

    doc = pycrdt.Doc()
    with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as session:
        row = session.execute(with_tables("SELECT state, state_seq FROM {states} WHERE document_id = %s",
                                          states=CollabState), [document_id]).fetchone()
        state, state_seq = row if row else (None, 0)
        if state:
            doc.apply_update(bytes(state))
        updates = session.execute(
            with_tables('SELECT "update" FROM {updates} WHERE document_id = %s AND seq > %s ORDER BY seq',
                        updates=CollabUpdate), [document_id, state_seq]).fetchall()
        for (update,) in updates:
            doc.apply_update(bytes(update))
    return str(doc.get("content", type=pycrdt.XmlFragment))


def missing_words(text: str, words: list[str]) -> list[str]:
    present = set(text.replace("<", " ").replace(">", " ").split())
    return [word for word in words if word not in present]
