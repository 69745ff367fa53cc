"""The HTTP side of the ASGI application: each request crosses into a worker thread once.

Django's stock ASGI handler runs the middleware chain in async mode. Every built-in middleware
(security, sessions, common, CSRF, authentication, messages, clickjacking) is sync code behind
`MiddlewareMixin`, so each one costs two hops between the event loop and a thread, the view a third,
the request signals and the response's close more, and each request gets a thread of its own that is
started and joined. On a busy two-core machine those hops cost more than the work of a short request.

Here the event loop only reads the body and writes the answer; the request signals, the whole sync
middleware chain, the view and the response's close run in one call on a pool of long-lived threads.
The guarantees stay those of Django's handler: one thread serves a request from start to end, database
connections go back to their pool when the request finishes (`request_finished`), and streaming
responses are iterated by the event loop and closed after the last chunk.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.urls import set_script_prefix


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
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            response = await sync_to_async(self.respond, thread_sensitive=False, executor=self.executor)(
                scope, body_file
            )
            try:
                await self.send_response(response, send)
            finally:
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=False, executor=self.executor)()
        finally:
            body_file.close()

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
        if not response.streaming:
            response.close()
        return response
