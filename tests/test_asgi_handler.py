"""The HTTP handler (mdcreator/handlers.py): one worker thread per request, Django's guarantees kept."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgiref.testing import ApplicationCommunicator
from django.core import signals
from django.test import override_settings

from mdcreator.handlers import OneHopASGIHandler
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
