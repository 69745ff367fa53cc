"""The HTTP side of the ASGI application: each request crosses into a worker thread once.

Django's stock ASGI handler runs the middleware chain in async mode. Every built-in middleware
(security, sessions, common, CSRF, authentication, messages, clickjacking) is sync code behind
`MiddlewareMixin`, so each one costs two hops between the event loop and a thread, the view a third,
the request signals and the response's close more, and each request gets a thread of its own that is
started and joined. On a busy two-core machine those hops cost more than the work of a short request.

Here the event loop only reads the body and writes the answer; the request signals, the whole sync
middleware chain, the view and the response's close run in one call on a pool of long-lived threads.
The guarantees stay those of Django's handler: one thread serves a request from the body to the answer
and its database connections go back to their pool when it finishes (`request_finished`). A streaming
response gives its connections back as soon as the view returned; its chunks are then produced on the
worker threads one at a time, sent by the event loop, and the response is closed after the last one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.db import close_old_connections
from django.http import HttpResponse, HttpResponseBase
from django.urls import set_script_prefix

from mdcreator.errors import InternalError
from mdcreator.problems import problem_response

logger = logging.getLogger(__name__)

BODY_FILE_EXTENSION = "mdcreator.body_file"  # a scope extension: the request body, already in a file of its own


class AwaitedResponse(HttpResponse):
    """A response finished on the event loop.

    The view, in a worker thread, does the checks and the database work and returns this with `produce`, a
    coroutine function; after the middleware chain ran, the handler awaits it on the event loop and sends its
    response with the headers the middleware added (request id, CORS). Waiting on the network this way holds
    no worker thread; if the client disconnects first, `produce` is cancelled.
    """

    def __init__(self, produce: Callable[[], Awaitable[HttpResponseBase]]):
        super().__init__()
        self.produce = produce

    async def resolve(self) -> HttpResponseBase:
        try:
            final = await self.produce()
        except Exception:  # a bug in `produce`: the client gets a problem, as from a view
            logger.exception("awaited response failed")
            final = problem_response(InternalError())
        for header, value in self.items():
            if header.lower() not in ("content-type", "content-length") and header not in final:
                final[header] = value
        return final


async def _unless_disconnected(work: Awaitable, receive):
    """`work`'s result, or None when the client disconnected first (then `work` is cancelled at once)."""

    async def disconnected() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    task, gone = asyncio.ensure_future(work), asyncio.ensure_future(disconnected())
    try:
        await asyncio.wait({task, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return None if task.cancelled() else task.result()


class OneHopASGIHandler(ASGIHandler):
    """`django.core.handlers.asgi.ASGIHandler` with the sync middleware chain run in one worker-thread call."""

    def __init__(self, threads: int | None = None):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.executor = ThreadPoolExecutor(
            max_workers=threads or settings.HTTP_WORKER_THREADS, thread_name_prefix="http-request"
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        await self.handle(scope, receive, send)

    async def handle(self, scope, receive, send):
        try:
            body_file = await self.body(scope, receive)
        except RequestAborted:
            return
        try:
            response = await sync_to_async(self.respond, thread_sensitive=False, executor=self.executor)(
                scope, body_file
            )
            if isinstance(response, AwaitedResponse):
                response = await _unless_disconnected(response.resolve(), receive)
                if response is None:
                    return
            if response.streaming and not response.is_async:
                response.streaming_content = self._chunks_in_workers(response.streaming_content)
            try:
                if response.streaming and response.is_async:  # produced on the loop: stopped when the client goes
                    await _unless_disconnected(self.send_response(response, send), receive)
                else:
                    await self.send_response(response, send)
            finally:
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=False, executor=self.executor)()
        finally:
            body_file.close()

    async def body(self, scope, receive):
        """The request body as a file: the server's own when it handed one over (then the only message left
        is the end of the body, or the client's disconnect), else read from the messages as Django does."""
        body_file = scope.get("extensions", {}).get(BODY_FILE_EXTENSION)
        if body_file is None:
            return await self.read_body(receive)
        if (await receive())["type"] == "http.disconnect":
            body_file.close()
            raise RequestAborted
        body_file.seek(0)
        return body_file

    def respond(self, scope, body_file):
        """Everything between the body and the answer, in one worker thread.

        A response whose content is in memory is closed here, which fires `request_finished` in the
        thread that opened the request's connections; a streaming one is closed after it was sent.
        """
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
        if response.streaming:
            close_old_connections()  # this thread's connections go back now; the chunks come later, elsewhere
        else:
            response.close()
        return response

    async def _chunks_in_workers(self, chunks):
        """A sync iterator's chunks, each produced on a worker thread (Django would read them all on its one
        sync thread before sending the first)."""
        loop = asyncio.get_running_loop()
        end = object()
        while (chunk := await loop.run_in_executor(self.executor, next, chunks, end)) is not end:
            yield chunk
