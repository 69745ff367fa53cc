"""Calling the AI endpoints the way daphne does: through the project's ASGI handler, whose event loop runs the
provider calls (`AwaitedResponse`, async streams). Django's test client would stop at the placeholder."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

from asgiref.testing import ApplicationCommunicator

from accounts.services.sessions import ClientInfo, session_start
from mdcreator.handlers import OneHopASGIHandler


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    def events(self) -> list[tuple[str, object]]:
        """Server-sent events as (name, data); comments as ("comment", text)."""
        found = []
        for block in self.body.decode().split("\n\n"):
            if not block.strip():
                continue
            if block.startswith(":"):
                found.append(("comment", block[1:].strip()))
                continue
            fields = dict(line.split(": ", 1) for line in block.splitlines())
            found.append((fields["event"], json.loads(fields["data"])))
        return found


def _scope(method: str, path: str, token: str | None, body: bytes) -> dict:
    path, _, query = path.partition("?")
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("testserver", 80),
    }


class AsgiClient:
    """A signed-in caller of the ASGI application (or anonymous with `user=None`)."""

    def __init__(self, handler: OneHopASGIHandler, user):
        self.handler = handler
        self.token = session_start(user=user, client=ClientInfo()).access_token if user is not None else None

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 10) -> Answer:
        return asyncio.run(self.acall(method, path, body, timeout))

    def post(self, path: str, body: dict, timeout: float = 10) -> Answer:
        return self.call("POST", path, body, timeout)

    def get(self, path: str) -> Answer:
        return self.call("GET", path)

    async def acall(self, method: str, path: str, body: dict | None = None, timeout: float = 10) -> Answer:
        app = await self.open(method, path, body)
        start = await app.receive_output(timeout)
        content = b""
        while True:
            message = await app.receive_output(timeout)
            content += message.get("body", b"")
            if not message.get("more_body"):
                break
        await app.wait(timeout)
        return Answer(start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, content)

    async def open(self, method: str, path: str, body: dict | None = None) -> ApplicationCommunicator:
        """A request under way: read its messages with `receive_output`, leave with `send_input(disconnect)`."""
        raw = json.dumps(body).encode() if body is not None else b""
        app = ApplicationCommunicator(self.handler, _scope(method, path, self.token, raw))
        await app.send_input({"type": "http.request", "body": raw})
        return app
