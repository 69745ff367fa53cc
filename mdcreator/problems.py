"""Rendering of RFC 7807 problem responses for DRF, Django and consumers."""

from __future__ import annotations

import json
import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpRequest, HttpResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import exceptions as drf_exceptions

from mdcreator import errors
from mdcreator.logging import current_request_id
from mdcreator.timestamps import utc_timestamp

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

# The database or Redis is down or overloaded: a REST call answers a retryable 503, not a 500.
_DEPENDENCY_FAILURES = (DatabaseOperationalError, DatabaseInterfaceError, RedisConnectionError, RedisTimeoutError)

_DEFAULT_BY_STATUS: dict[int, type[errors.ProblemError]] = {
    400: errors.ProblemError,
    401: errors.AuthenticationRequiredError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    405: errors.MethodNotAllowedError,
    409: errors.ConflictError,
    410: errors.GoneError,
    413: errors.PayloadTooLargeError,
    415: errors.UnsupportedMediaTypeError,
    429: errors.RateLimitedError,
    500: errors.InternalError,
    503: errors.ServiceUnavailableError,
}


def problem_body(error: errors.ProblemError, *, instance: str = "") -> dict:
    """The problem object for an error, stamped with the current trace id."""
    body = {
        "type": errors.PROBLEM_TYPE_BASE + error.code,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
        "instance": instance,
        "timestamp": utc_timestamp(),
        "trace_id": current_request_id(),
    }
    body.update(error.extra)
    return body


def problem_response(error: errors.ProblemError, request: HttpRequest | None = None) -> HttpResponse:
    """A Django response carrying the problem, its status and its headers."""
    instance = request.path if request is not None else ""
    response = HttpResponse(
        json.dumps(problem_body(error, instance=instance), default=str),
        status=error.status,
        content_type=PROBLEM_CONTENT_TYPE,
    )
    for name, value in error.headers.items():
        response[name] = value
    return response


def problem_for_status(status: int, detail: str = "") -> errors.ProblemError:
    """The generic problem for a bare HTTP status."""
    cls = _DEFAULT_BY_STATUS.get(status)
    if cls is None:
        cls = type("StatusProblem", (errors.ProblemError,), {"status": status, "code": "error", "title": "Error"})
    if cls is errors.RateLimitedError:
        return errors.RateLimitedError(retry_after=60, detail=detail)
    return cls(detail)


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"dotted.path": [messages]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key in ("non_field_errors", "__all__") and not prefix else str(key)
            path = f"{prefix}.{name}" if prefix else name
            for sub_key, messages in flatten_errors(value, path).items():
                flat.setdefault(sub_key, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            flat[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                path = f"{prefix}.{index}" if prefix else str(index)
                for sub_key, messages in flatten_errors(item, path).items():
                    flat.setdefault(sub_key, []).extend(messages)
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def _from_drf(exc: drf_exceptions.APIException) -> errors.ProblemError:
    """Translate a DRF exception into our vocabulary."""
    if isinstance(exc, drf_exceptions.ValidationError):
        return errors.ValidationProblem(flatten_errors(exc.detail))
    if isinstance(exc, drf_exceptions.ParseError):
        return errors.InvalidJsonError(str(exc.detail))
    if isinstance(exc, drf_exceptions.NotAuthenticated):
        return errors.AuthenticationRequiredError()
    if isinstance(exc, drf_exceptions.AuthenticationFailed):
        return errors.InvalidTokenError(str(exc.detail))
    if isinstance(exc, drf_exceptions.Throttled):
        return errors.RateLimitedError(retry_after=int(exc.wait or 1))
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return errors.MethodNotAllowedError(str(exc.detail))
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return errors.UnsupportedMediaTypeError(str(exc.detail))
    detail = exc.detail if isinstance(exc.detail, str) else ""
    return problem_for_status(exc.status_code, str(detail))


def to_problem(exc: Exception) -> errors.ProblemError | None:
    """Map any known exception to a problem; None for unexpected ones."""
    if isinstance(exc, errors.ProblemError):
        return exc
    if isinstance(exc, drf_exceptions.APIException):
        return _from_drf(exc)
    if isinstance(exc, Http404):
        return errors.NotFoundError()
    if isinstance(exc, DjangoPermissionDenied):
        return errors.PermissionDeniedError()
    if isinstance(exc, RequestDataTooBig):
        return errors.PayloadTooLargeError("The request body is too large.")
    return None


def exception_handler(exc: Exception, context: dict) -> HttpResponse:
    """DRF ``EXCEPTION_HANDLER``: every error becomes a problem response."""
    request = context.get("request")
    problem = to_problem(exc)
    if problem is None and isinstance(exc, _DEPENDENCY_FAILURES):
        logger.error("Dependency failure in %s", getattr(request, "path", "?"), exc_info=exc)
        problem = errors.ServiceUnavailableError(
            "A backing service is unavailable; retry shortly.", headers={"Retry-After": "5"}
        )
    elif problem is None:
        logger.exception("Unhandled error in %s", getattr(request, "path", "?"))
        problem = errors.InternalError()
    response = problem_response(problem, request)
    if problem.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
