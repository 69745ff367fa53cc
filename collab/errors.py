"""Every error of live collaboration: the REST problems and the socket vocabulary (SPEC §5.4, §5.5).

REST endpoints raise the problem classes; sockets send the error frames and close
codes declared here, so that both dialects speak the same words.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from mdcreator.errors import ConflictError, PayloadTooLargeError, ValidationProblem


class NotCollaborativeError(ConflictError):
    """Only markdown documents have a collaborative state (409 over REST)."""

    code, title = "not-collaborative", "Not collaborative"
    default_detail = "Only markdown documents have a collaborative state."


class DocumentTooLargeError(PayloadTooLargeError):
    """The collaborative state would exceed its 32 MiB limit."""

    default_detail = "The collaborative state reached its 32 MiB limit."


class InvalidYjsUpdateError(ValidationProblem):
    """Bytes that do not decode as a Yjs v1 update."""

    code, title = "invalid-yjs-update", "Invalid Yjs update"

    def __init__(self, detail: str = "The update could not be decoded as a Yjs v1 update.", *, field: str = "update_b64"):
        super().__init__({field: [detail]}, detail)


class SocketError(StrEnum):
    """The codes of the JSON `error` frame (SPEC §5.5)."""

    READ_ONLY = "read_only"
    INVALID_UPDATE = "invalid_update"
    DOCUMENT_TOO_LARGE = "document_too_large"
    UNSUPPORTED_DOCUMENT_TYPE = "unsupported_document_type"
    UNKNOWN_MESSAGE = "unknown_message"
    RATE_LIMITED = "rate_limited"


def error_frame(code: SocketError, detail: str) -> dict:
    """The JSON error event of §5.5: `{"type": "error", "code", "detail"}`."""
    return {"type": "error", "code": str(code), "detail": detail}


class CloseCode(IntEnum):
    """WebSocket close codes: 4000 + the HTTP status, and the two protocol codes (SPEC §5.4)."""

    MESSAGE_TOO_BIG = 1009
    SERVER_ERROR = 1011
    UNAUTHORIZED = 4401
    FORBIDDEN = 4403
    NOT_FOUND = 4404
    TOO_MANY = 4429


# The Hocuspocus reason that goes with each refusal (its permission-denied and close frames).
CLOSE_REASONS = {
    CloseCode.UNAUTHORIZED: "unauthorized",
    CloseCode.FORBIDDEN: "forbidden",
    CloseCode.NOT_FOUND: "not-found",
    CloseCode.TOO_MANY: "too-many-connections",
}


class SessionRefused(Exception):
    """A document session cannot open or stay open: `code` is the close code, `reason` the Hocuspocus reason."""

    def __init__(self, code: CloseCode, reason: str | None = None):
        reason = reason or CLOSE_REASONS.get(code, "forbidden")
        super().__init__(reason)
        self.code, self.reason = int(code), reason
