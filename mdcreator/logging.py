"""Request ids: carried in a context variable so log lines and problems share them."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

_VALID_REQUEST_ID = re.compile(r"^[\x21-\x7e]{1,64}$")


def accept_request_id(incoming: str | None) -> str:
    """Reuse a client's id when it is ≤ 64 printable characters, else make one."""
    if incoming and _VALID_REQUEST_ID.match(incoming):
        return incoming
    return uuid.uuid4().hex


def set_request_id(value: str) -> contextvars.Token:
    """Make `value` the id of the work running in this context."""
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token) -> None:
    """Restore the id that was current before `set_request_id`."""
    _request_id.reset(token)


def current_request_id() -> str:
    """The id of the request being served, or a fresh one outside a request."""
    return _request_id.get() or uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Adds `trace_id` to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = _request_id.get() or "-"
        return True
