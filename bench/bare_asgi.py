"""The project's ASGI application plus a bare Django view, for `bench/rest_overhead.py` only.

    daphne bench.bare_asgi:application        (from the repository's root)

Two paths are answered with no middleware and a URL map of their own (`bench/bare_urls.py`: a plain function
view returning a small `JsonResponse`, no DRF, no database):

  * `/bench/bare` by Django's stock ASGI handler (`django.core.handlers.asgi.ASGIHandler`): what Django itself
    costs per request under daphne, the floor the API's targets are set against;
  * `/bench/bare-onehop` by the project's own handler (`mdcreator.handlers.OneHopASGIHandler`): the same view
    the way the project serves HTTP, so what is left above it is the middleware and the API's own work.

Every other request goes to `mdcreator.asgi.application`, untouched. All of them are served by the same
daphne process, event loop and machine.
"""

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.exception import convert_exception_to_response

from mdcreator.asgi import application as project_application  # configures Django first
from mdcreator.handlers import OneHopASGIHandler

BARE_PATH = "/bench/bare"
BARE_ONEHOP_PATH = "/bench/bare-onehop"
BARE_URLCONF = "bench.bare_urls"


class Bare:
    """No middleware whatever `MIDDLEWARE` says, and every request resolved in `BARE_URLCONF`."""

    def load_middleware(self, is_async=False):
        """What `BaseHandler.load_middleware` builds when `MIDDLEWARE` is empty."""
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []
        get_response = self._get_response_async if is_async else self._get_response
        self._middleware_chain = convert_exception_to_response(get_response)

    def create_request(self, scope, body_file):
        request, error_response = super().create_request(scope, body_file)
        if request is not None:
            request.urlconf = BARE_URLCONF  # Django resolves a request in its own `urlconf` when it has one
        return request, error_response


class BareASGIHandler(Bare, ASGIHandler):
    """Django's stock ASGI handler, bare."""


class BareOneHopASGIHandler(Bare, OneHopASGIHandler):
    """The project's HTTP handler, bare."""


bare_handlers = {BARE_PATH: BareASGIHandler(), BARE_ONEHOP_PATH: BareOneHopASGIHandler()}


async def application(scope, receive, send):
    """The bare paths to their handlers, everything else to the project's application."""
    handler = bare_handlers.get(scope["path"]) if scope["type"] == "http" else None
    if handler is not None:
        return await handler(scope, receive, send)
    return await project_application(scope, receive, send)
