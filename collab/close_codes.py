"""Adjustments of the daphne server the live sockets need; `mdcreator.asgi` applies them at start-up."""

from __future__ import annotations

from collab.errors import CloseCode

PROTOCOL_CLOSE_CODES = (CloseCode.MESSAGE_TOO_BIG, CloseCode.SERVER_ERROR)


def allow_protocol_close_codes() -> None:
    """Let consumers close with 1009 (message too big) and 1011 (server error) under daphne (SPEC §5.4).

    autobahn's public close only takes 1000 and 3000-4999 from the application and raises
    otherwise, which kills the consumer before its disconnect runs. RFC 6455 lets an endpoint
    send both codes; daphne itself sends 1011 the same way when an application fails.
    """
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:  # another ASGI server
        return
    original = WebSocketProtocol.serverClose
    if getattr(original, "allows_protocol_codes", False):
        return

    def server_close(protocol, code=None):
        if code in PROTOCOL_CLOSE_CODES:
            protocol.sendCloseFrame(code=code)
        else:
            original(protocol, code)

    server_close.allows_protocol_codes = True
    WebSocketProtocol.serverClose = server_close
