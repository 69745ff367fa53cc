"""WebSocket routes (SPEC §5.1)."""

from django.urls import path, re_path

from collab.consumers import HocuspocusConsumer, YWebsocketConsumer

websocket_urlpatterns = [
    re_path(r"^ws/documents/(?P<document_id>[^/?]+)/?$", YWebsocketConsumer.as_asgi()),
    path("ws/collab", HocuspocusConsumer.as_asgi()),
    # The existing web client's provider connects to its server's root (`ws://localhost:1234`) (SPEC §3.9).
    path("", HocuspocusConsumer.as_asgi()),
]
