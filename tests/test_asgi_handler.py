"""The HTTP handler (mdcreator/handlers.py): one worker thread per request, Django's guarantees kept."""

from __future__ import annotations

import asyncio
import io
import json
import threading

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core import signals
from django.test import override_settings

from mdcreator.handlers import BODY_FILE_EXTENSION, OneHopASGIHandler
from tests import asgi_urls

pytestmark = pytest.mark.django_db(transaction=True)


def _scope(path: str, method: str = "GET", headers: list | None = None) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": headers if headers is not None else [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }


async def _call(handler, scope: dict, body: bytes = b"", chunked: bool = False) -> tuple[int, dict, bytes, int]:
    app = ApplicationCommunicator(handler, scope)
    if chunked and body:
        half = len(body) // 2
        await app.send_input({"type": "http.request", "body": body[:half], "more_body": True})
        await app.send_input({"type": "http.request", "body": body[half:]})
    else:
        await app.send_input({"type": "http.request", "body": body})
    start = await app.receive_output(5)
    assert start["type"] == "http.response.start"
    content, messages = b"", 0
    while True:
        message = await app.receive_output(5)
        content += message.get("body", b"")
        messages += 1
        if not message.get("more_body"):
            break
    await app.wait(5)
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, content, messages


def _run(handler, scope: dict, body: bytes = b"", chunked: bool = False):
    return asyncio.run(_call(handler, scope, body, chunked))


@pytest.fixture
def handler():
    handler = OneHopASGIHandler(threads=8)
    yield handler
    handler.executor.shutdown(wait=True)


@pytest.fixture
def signal_threads():
    seen: dict[str, list[int]] = {"started": [], "finished": []}

    def started(**kwargs):
        seen["started"].append(threading.get_ident())

    def finished(**kwargs):
        seen["finished"].append(threading.get_ident())

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield seen
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


@override_settings(ROOT_URLCONF="tests.asgi_urls")
def test_asgi_handler_serves_a_request_in_one_worker_thread(handler, signal_threads):
    status, headers, content, _ = _run(handler, _scope("/where", "POST"), b'{"a": 1}', chunked=True)
    body = json.loads(content)
    assert status == 200 and body["body"] == '{"a": 1}' and body["path"] == "/where"
    assert body["thread"] != threading.get_ident(), "the view never runs on the event loop"
    assert signal_threads == {"started": [body["thread"]], "finished": [body["thread"]]}
    assert headers["x-request-id"], "the project's middleware chain ran"


@override_settings(ROOT_URLCONF="tests.asgi_urls")
def test_asgi_handler_reuses_its_worker_threads(handler):
    threads = set()
    for _ in range(6):
        status, _, content, _ = _run(handler, _scope("/where"))
        assert status == 200
        threads.add(json.loads(content)["thread"])
    # Sequential requests on a pool of 8: an idle thread takes each one (a second may start while the
    # first is still marking itself idle); a thread per request would give 6.
    assert len(threads) <= 2


@override_settings(ROOT_URLCONF="tests.asgi_urls")
@pytest.mark.filterwarnings("error:StreamingHttpResponse must consume synchronous iterators")
def test_asgi_handler_streams_chunks_from_workers_and_closes_after_the_last(handler, signal_threads):
    asgi_urls.CLOSED.clear()
    asgi_urls.PRODUCED.clear()
    status, _, content, messages = _run(handler, _scope("/stream"))
    assert status == 200 and content == b"one,two,three" and messages == 4
    assert len(asgi_urls.CLOSED) == 1 and len(signal_threads["finished"]) == 1
    workers = {thread.ident for thread in handler.executor._threads}
    assert len(asgi_urls.PRODUCED) == 3 and set(asgi_urls.PRODUCED) <= workers, "no chunk is read on Django's sync thread"
    assert asgi_urls.CLOSED[0] in workers


def test_asgi_handler_unknown_path_is_a_problem(handler):
    status, headers, content, _ = _run(handler, _scope("/no/such/path", "POST"), b"{}")
    assert status == 404 and headers["content-type"] == "application/problem+json"
    assert json.loads(content)["status"] == 404


def test_asgi_handler_disallowed_host_is_400(handler):
    status, _, content, _ = _run(handler, _scope("/healthz", headers=[(b"host", b"evil.example")]))
    assert status == 400 and json.loads(content)["status"] == 400


def test_asgi_handler_api_login_reads_the_body(handler):
    body = json.dumps({"email": "nobody@example.com", "password": "wrong-password-1"}).encode()
    scope = _scope("/api/v1/auth/login", "POST", [
        (b"host", b"127.0.0.1"), (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
    ])
    status, headers, content, _ = _run(handler, scope, body)
    assert status == 401, content
    assert json.loads(content)["type"].endswith("invalid-credentials")


def test_asgi_daphne_requests_never_parse_form_bodies_themselves():
    """Twisted would parse every multipart POST into memory before daphne hands the body to Django; the
    application turns that off for every daphne request (Django parses uploads itself, streamed)."""
    from daphne.http_protocol import WebRequest

    import mdcreator.asgi  # noqa: F401  (building the application switches it off)

    request = WebRequest.__new__(WebRequest)
    request._parsePOSTFormSubmission = True  # what Twisted's Request.__init__ assigns
    assert request._parsePOSTFormSubmission is False


class _Body(io.BytesIO):
    """A request body the server already wrote to a file, as daphne hands it over; remembers being closed."""

    closed_once = False

    def close(self):
        self.closed_once = True
        super().close()


@override_settings(ROOT_URLCONF="tests.asgi_urls")
def test_asgi_handler_reads_a_handed_over_body_file_and_closes_it(handler):
    body = _Body(b'{"from": "the file"}')
    body.seek(7)  # wherever the server left it
    scope = _scope("/where", "POST")
    scope["extensions"] = {BODY_FILE_EXTENSION: body}
    status, _, content, _ = _run(handler, scope, b"")  # the only message: the end of the body
    assert status == 200 and json.loads(content)["body"] == '{"from": "the file"}'
    assert body.closed_once


@override_settings(ROOT_URLCONF="tests.asgi_urls")
def test_asgi_handler_handed_over_body_of_a_client_gone_is_closed_unanswered(handler):
    body = _Body(b"partial")

    async def gone():
        scope = _scope("/where", "POST")
        scope["extensions"] = {BODY_FILE_EXTENSION: body}
        app = ApplicationCommunicator(handler, scope)
        await app.send_input({"type": "http.disconnect"})
        await app.wait(5)
        return await app.output_queue.get() if not app.output_queue.empty() else None

    assert asyncio.run(gone()) is None
    assert body.closed_once


def test_asgi_daphne_hands_the_body_file_to_the_application():
    """daphne queues only the end of the body; the file Twisted wrote reaches the application in the scope."""
    from daphne.server import Server

    import mdcreator.asgi  # noqa: F401  (building the application installs the hand-over)

    seen = {}

    class Protocol:
        content = io.BytesIO(b"x" * 200_000)

    async def application(scope, receive, send):
        seen["scope"], seen["message"] = scope, await receive()

    protocol = Protocol()
    original = protocol.content
    server = Server.__new__(Server)
    server.connections, server.application = {protocol: {}}, application

    async def request():
        queue = server.create_application(protocol, {"type": "http"})
        # daphne's own loop: it reads the request's content and queues what it read
        queue.put_nowait({"type": "http.request", "body": protocol.content.read(8192), "more_body": False})
        await server.connections[protocol]["application_instance"]

    asyncio.run(request())
    assert seen["message"]["body"] == b"", "daphne reads nothing of the body itself"
    assert seen["scope"]["extensions"][BODY_FILE_EXTENSION] is original
