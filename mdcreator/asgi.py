"""ASGI entry point: HTTP through Django, WebSockets through Channels (served by daphne)."""

import asyncio
import gc
import io
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdcreator.settings")


class _Off:
    """A class attribute that reads False whatever an instance assigns to it."""

    def __get__(self, obj, owner=None) -> bool:
        return False

    def __set__(self, obj, value) -> None:
        pass


def _no_form_parsing_in_daphne() -> None:
    """Twisted's request parses every multipart or URL-encoded POST body into memory (`request.args`, through the
    email parser) before daphne hands the body to Django, which parses it again, streamed. daphne never reads
    those args; for a 25 MiB upload the parse cost 300 MiB of memory and held throughput near 15 MiB/s. Twisted
    offers `parsePOSTFormSubmission=False`, which daphne does not pass: this makes every request read it so."""
    try:
        from daphne.http_protocol import WebRequest
    except ImportError:  # served by another ASGI server
        return
    WebRequest._parsePOSTFormSubmission = _Off()


def _bodies_handed_over_in_daphne() -> None:
    """Twisted writes a request body of 100 kB or more to a temporary file as it arrives; daphne then read that
    file back in 8 KiB chunks and queued every chunk at once for the application, which copied them into a
    file of its own: a 25 MiB upload held 25 MiB of small strings in memory before the view saw a byte. Here
    daphne hands the file Twisted wrote to the application in the scope (`BODY_FILE_EXTENSION`) and sends
    only the end-of-body message; `OneHopASGIHandler` reads the request from that file, with no copy."""
    try:
        from daphne.server import Server
    except ImportError:  # served by another ASGI server
        return
    from mdcreator.handlers import BODY_FILE_EXTENSION

    create_application = Server.create_application
    if getattr(create_application, "hands_over_bodies", False):
        return

    def handing_over(self, protocol, scope):
        body = getattr(protocol, "content", None)
        if scope.get("type") == "http" and body is not None:
            scope.setdefault("extensions", {})[BODY_FILE_EXTENSION] = body
            protocol.content = io.BytesIO()  # what daphne reads and queues: nothing, then the end of the body
        return create_application(self, protocol, scope)

    handing_over.hands_over_bodies = True
    Server.create_application = handing_over


def _plain(value, *args, **kwargs):
    return value


def _no_log_colours_in_autobahn() -> None:
    """autobahn, under daphne's WebSockets, builds the arguments of its debug lines (coloured through
    `click.style`) before the logger drops them: twice for every frame received and once for every frame
    sent, 5 % of the event loop at 600 live edits per second. Its modules get plain values instead; the
    debug lines, when enabled, read the same without colours."""
    try:
        from autobahn.twisted import websocket as twisted_websocket
        from autobahn.websocket import protocol
    except ImportError:  # served by another ASGI server
        return
    for module in (twisted_websocket, protocol):
        for name in ("hl", "hltype", "hlval", "hlid", "hlflag"):
            if hasattr(module, name):
                setattr(module, name, _plain)


def _serving_hooks():
    """A callable that runs, once per event loop, every app config's `serving_started(loop)`: background work
    of an app (collab catches up on live edits a dead process left) starts once the server serves, never
    before, so start-up does not wait for it."""
    from django.apps import apps

    hooks = [config.serving_started for config in apps.get_app_configs() if hasattr(config, "serving_started")]
    started: list = []

    def serving(loop: asyncio.AbstractEventLoop) -> None:
        if loop not in started:
            started.append(loop)
            for hook in hooks:
                hook(loop)

    return serving


def _serving_from_the_start_in_daphne(serving) -> None:
    """Under daphne, run the serving hooks as soon as its reactor runs, not at the first request: a process
    restarted after a crash catches up on the live edits its predecessor left even if no client ever
    connects to it. (daphne installs its asyncio reactor before it imports the application; under another
    server the hooks run at the first request, as `built` does here too.)"""
    reactor = sys.modules.get("twisted.internet.reactor")
    loop = getattr(reactor, "_asyncioEventloop", None)
    if loop is not None and "daphne.server" in sys.modules:
        reactor.callWhenRunning(serving, loop)


def _build():
    """Configure Django, then build the application (everything it imports needs the settings)."""
    import django

    django.setup(set_prefix=False)

    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.urls import get_resolver

    from collab.close_codes import allow_protocol_close_codes
    from mdcreator import events
    from mdcreator.handlers import OneHopASGIHandler
    from mdcreator.routing import websocket_urlpatterns

    allow_protocol_close_codes()  # consumers close with 1009 and 1011 under daphne (SPEC §5.4)
    _no_form_parsing_in_daphne()
    _bodies_handed_over_in_daphne()
    _no_log_colours_in_autobahn()
    router = ProtocolTypeRouter({"http": OneHopASGIHandler(), "websocket": URLRouter(websocket_urlpatterns)})
    hooks = _serving_hooks()

    def serving(loop: asyncio.AbstractEventLoop) -> None:
        events.serve_on(loop)  # the loop worker threads hand their messages to
        hooks(loop)

    _serving_from_the_start_in_daphne(serving)

    async def built(scope, receive, send):
        serving(asyncio.get_running_loop())
        return await router(scope, receive, send)

    # Everything built so far (settings, apps, models, views, URL patterns) lives as long as the process.
    # Frozen, the collector no longer walks it: full collections, which paused requests for 50 ms
    # and more, become short.
    get_resolver().check()  # imports every view now, before freezing
    gc.freeze()
    return built


application = _build()
