"""WebSocket routes of every app (filled by the collab app)."""

websocket_urlpatterns: list = []
