"""Middleware: request ids, problem bodies for every error, body size limits."""

from __future__ import annotations

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from mdcreator import errors
from mdcreator.logging import accept_request_id, reset_request_id, set_request_id
from mdcreator.problems import PROBLEM_CONTENT_TYPE, problem_for_status, problem_response


class _SyncAndAsyncMiddleware:
    """Base for middleware that runs the same hooks in sync and async stacks."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        early = self.before(request)
        response = early if early is not None else self.get_response(request)
        return self.after(request, response)

    async def _acall(self, request):
        early = self.before(request)
        response = early if early is not None else await self.get_response(request)
        return self.after(request, response)

    def before(self, request: HttpRequest) -> HttpResponse | None:
        return None

    def after(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        return response


class RequestIdMiddleware(_SyncAndAsyncMiddleware):
    """Reuses or creates `X-Request-ID`, exposes it to logs and echoes it back."""

    def before(self, request):
        request.request_id = accept_request_id(request.headers.get("X-Request-ID"))
        request._request_id_token = set_request_id(request.request_id)

    def after(self, request, response):
        response["X-Request-ID"] = request.request_id
        token = getattr(request, "_request_id_token", None)
        if token is not None:
            try:
                reset_request_id(token)
            except ValueError:
                # The response finished in another context (async views); the
                # variable dies with that context anyway.
                pass
        return response


class ProblemResponseMiddleware(_SyncAndAsyncMiddleware):
    """Turns any error response Django produced itself into a problem body.

    DRF views already answer with problems; this catches Django's own
    404/405/400 responses (unknown paths, plain views, CommonMiddleware).
    """

    def after(self, request, response):
        if response.status_code < 400 or getattr(response, "streaming", False):
            return response
        if response.get("Content-Type", "").startswith(PROBLEM_CONTENT_TYPE):
            return response
        if request.path.startswith(("/admin/", "/oidc/", "/static/")) and response.status_code not in (404, 405):
            return response
        problem = problem_for_status(response.status_code)
        converted = problem_response(problem, request)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                converted[header] = response[header]
        return converted


class BodySizeLimitMiddleware(_SyncAndAsyncMiddleware):
    """413 before reading a body larger than the endpoint accepts (SPEC §9)."""

    def before(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return problem_response(errors.ProblemError("Content-Length is not a number."), request)
        limit = (
            settings.UPLOAD_BODY_MAX_BYTES
            if request.path.startswith("/api/v1/uploads/local/")
            else settings.JSON_BODY_MAX_BYTES
        )
        if length > limit:
            return problem_response(
                errors.PayloadTooLargeError(f"The request body exceeds {limit} bytes."), request
            )
        return None
