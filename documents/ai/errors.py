"""The AI proxy's problems (SPEC §3.8, §6)."""

from mdcreator.errors import PermissionDeniedError, ProblemError, ServiceUnavailableError


class InvalidApiKeyError(ProblemError):
    status, code, title = 400, "invalid-api-key", "Invalid API key"
    default_detail = "The AI provider rejected this API key; nothing was stored."


class QuotaExceededError(ProblemError):
    status, code, title = 402, "quota-exceeded", "Quota exceeded"
    default_detail = "This month's AI token quota on the server's key is used up. Add your own API key to go on."


class AiDisabledError(PermissionDeniedError):
    code, title = "ai-disabled", "AI is turned off"
    default_detail = "AI features are turned off in this workspace's settings."


class AiProviderError(ProblemError):
    status, code, title = 502, "ai-provider-error", "AI provider error"
    default_detail = "The AI provider failed."


class AiProviderTimeoutError(ProblemError):
    status, code, title = 504, "ai-provider-timeout", "AI provider timeout"
    default_detail = "The AI provider did not answer in time."


class AiProviderUnavailableError(ServiceUnavailableError):
    code, title = "ai-provider-unavailable", "AI provider unavailable"
    default_detail = "No API key is available for this provider: add your own under AI keys."
