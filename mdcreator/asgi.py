"""ASGI entry point: HTTP through Django, WebSockets through Channels (served by daphne)."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mdcreator.settings")

import django  # noqa: E402

django.setup(set_prefix=False)

from mdcreator.handlers import OneHopASGIHandler  # noqa: E402  (settings must be configured first)

django_asgi_app = OneHopASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from collab.close_codes import allow_protocol_close_codes  # noqa: E402
from mdcreator.routing import websocket_urlpatterns  # noqa: E402

allow_protocol_close_codes()  # consumers close with 1009 and 1011 under daphne (SPEC §5.4)

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(websocket_urlpatterns),
    }
)

# Everything built so far (settings, apps, models, views, URL patterns) lives as long as the process.
# Frozen, the collector no longer walks it: full collections, which paused requests for 50 ms
# and more, become short.
from django.urls import get_resolver  # noqa: E402

get_resolver().check()  # imports every view now, before freezing
gc.freeze()
