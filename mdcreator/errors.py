"""The one error vocabulary of the API: RFC 7807 problems (SPEC §0).

Domain code raises a ``ProblemError`` subclass; the DRF exception handler,
the Django error views and the consumers render it the same way.
"""

from __future__ import annotations

PROBLEM_TYPE_BASE = "https://mdcreator.app/errors/"


class ProblemError(Exception):
    """Base of every domain error; `code` becomes the problem type's slug."""

    status = 400
    code = "validation-error"
    title = "Bad request"
    default_detail = ""

    def __init__(self, detail: str = "", *, headers: dict[str, str] | None = None, **extra):
        self.detail = detail or self.default_detail or self.title
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)


class ValidationProblem(ProblemError):
    """400 with per-field messages: ``errors={"field": ["message"]}``."""

    status, code, title = 400, "validation-error", "Validation failed"

    def __init__(self, errors: dict[str, list[str]], detail: str = "", **extra):
        super().__init__(detail or "The request contains invalid fields.", errors=errors, **extra)


class InvalidJsonError(ProblemError):
    status, code, title = 400, "invalid-json", "Malformed JSON"


class InvalidCodeError(ProblemError):
    status, code, title = 400, "invalid-code", "Invalid code"
    default_detail = "The code is wrong, expired or already used."


class AuthenticationRequiredError(ProblemError):
    status, code, title = 401, "authentication-required", "Authentication required"
    default_detail = "This endpoint needs a bearer token."


class InvalidTokenError(ProblemError):
    status, code, title = 401, "invalid-token", "Invalid token"


class TokenExpiredError(ProblemError):
    status, code, title = 401, "token-expired", "Token expired"


class InvalidCredentialsError(ProblemError):
    status, code, title = 401, "invalid-credentials", "Invalid credentials"
    default_detail = "The email or password is wrong."


class RefreshTokenReusedError(ProblemError):
    status, code, title = 401, "refresh-token-reused", "Refresh token reused"
    default_detail = "This refresh token was already used; every session of its family has been signed out."


class EmailNotVerifiedError(ProblemError):
    status, code, title = 403, "email-not-verified", "Email not verified"
    default_detail = "Confirm your email address before signing in."


class PermissionDeniedError(ProblemError):
    status, code, title = 403, "permission-denied", "Permission denied"
    default_detail = "You do not have permission to perform this action."


class AccountInactiveError(ProblemError):
    status, code, title = 403, "account-inactive", "Account inactive"
    default_detail = "This account has been deactivated."


class SignupDisabledError(ProblemError):
    status, code, title = 403, "signup-disabled", "Signup disabled"
    default_detail = "New accounts cannot be created on this server."


class NotFoundError(ProblemError):
    status, code, title = 404, "not-found", "Not found"
    default_detail = "The requested resource was not found."


class MethodNotAllowedError(ProblemError):
    status, code, title = 405, "method-not-allowed", "Method not allowed"


class ConflictError(ProblemError):
    status, code, title = 409, "conflict", "Conflict"


class EmailTakenError(ConflictError):
    code, title = "email-taken", "Email already registered"
    default_detail = "An account with this email already exists."


class UsernameTakenError(ConflictError):
    code, title = "username-taken", "Username taken"
    default_detail = "This username is already taken."


class GoneError(ProblemError):
    status, code, title = 410, "gone", "Gone"


class PayloadTooLargeError(ProblemError):
    status, code, title = 413, "payload-too-large", "Payload too large"


class UnsupportedMediaTypeError(ProblemError):
    status, code, title = 415, "unsupported-media-type", "Unsupported media type"


class RateLimitedError(ProblemError):
    status, code, title = 429, "rate-limited", "Too many requests"

    def __init__(self, retry_after: int, detail: str = ""):
        retry_after = max(1, int(retry_after))
        super().__init__(
            detail or f"Too many requests; retry in {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class InternalError(ProblemError):
    status, code, title = 500, "internal-error", "Internal server error"
    default_detail = "An unexpected error occurred. It has been logged with this trace id."


class ServiceUnavailableError(ProblemError):
    status, code, title = 503, "service-unavailable", "Service unavailable"
