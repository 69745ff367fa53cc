"""The two providers behind one shape, through their official async SDKs (SPEC §6).

`complete` answers a whole reply, `Stream` yields its text as it comes; both report `Usage` as the provider
counted it, or estimated (characters / 4) where it said nothing, a call cut short included. Every failure
becomes one of three errors: `KeyRejected` (the provider refused the key), `ProviderFailed` (any other answer
or transport failure) and `ProviderTimedOut`. Their messages never carry the key, nor the provider's own words
when those are about keys.

SDK clients are built once per event loop and provider; a call with another key is a copy sharing the
connection pool (`with_options`), so no call pays for a new pool or TLS handshake.
"""

from __future__ import annotations

import asyncio
import math
import re
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anthropic
import openai
from django.conf import settings

OPENAI, ANTHROPIC = "openai", "anthropic"
PROVIDERS = (OPENAI, ANTHROPIC)
_KEY_WORDS = re.compile(r"api[\s_-]?key|x-api-key|authori[sz]ation|\bsk-[A-Za-z0-9]", re.IGNORECASE)


class ProviderError(Exception):
    """A provider call that did not produce an answer; `detail` is safe to show the caller."""

    def __init__(self, detail: str):
        self.detail = detail
        super().__init__(detail)


class KeyRejected(ProviderError):
    pass


class ProviderFailed(ProviderError):
    pass


class ProviderTimedOut(ProviderError):
    pass


@dataclass(frozen=True)
class Call:
    """One request to a provider: the key is plaintext here, for this call only."""

    provider: str
    model: str
    key: str
    prompt: str
    system: str = ""
    temperature: float | None = None
    max_tokens: int = 1024
    timeout: float = 120.0


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reported: bool = False

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def estimate_tokens(text: str) -> int:
    """What a reply or prompt costs when the provider did not say: characters / 4, rounded up."""
    return math.ceil(len(text) / 4)


# --- clients --------------------------------------------------------------------------------------------

_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _base_client(provider: str):
    """The provider's SDK client of the running loop (its connection pool lives on that loop)."""
    loop = asyncio.get_running_loop()
    per_loop = _clients.setdefault(loop, {})
    wanted = (settings.OPENAI_BASE_URL, settings.ANTHROPIC_BASE_URL)
    if per_loop.get("settings") != wanted:  # the settings changed (tests): start afresh
        per_loop.clear()
        per_loop["settings"] = wanted
    if provider not in per_loop:
        if provider == OPENAI:
            per_loop[provider] = openai.AsyncOpenAI(api_key="unset", base_url=settings.OPENAI_BASE_URL, max_retries=0)
        else:
            per_loop[provider] = anthropic.AsyncAnthropic(
                api_key="unset", base_url=settings.ANTHROPIC_BASE_URL, max_retries=0
            )
    return per_loop[provider]


def _client(provider: str, key: str, timeout: float):
    return _base_client(provider).with_options(api_key=key, timeout=timeout)


# --- errors ---------------------------------------------------------------------------------------------


def _translated(error: Exception, key: str) -> ProviderError:
    """One of our errors for an SDK error, saying nothing about the key."""
    if isinstance(error, (openai.APITimeoutError, anthropic.APITimeoutError)):
        return ProviderTimedOut("The AI provider did not answer in time.")
    if isinstance(error, (openai.AuthenticationError, anthropic.AuthenticationError,
                          openai.PermissionDeniedError, anthropic.PermissionDeniedError)):
        return KeyRejected("The AI provider rejected the API key.")
    if isinstance(error, (openai.APIStatusError, anthropic.APIStatusError)):
        detail = f"The AI provider answered {error.status_code}."
        message = _provider_message(error)
        if message and (key not in message) and not _KEY_WORDS.search(message):
            detail = f"{detail} {message}"
        return ProviderFailed(detail)
    if isinstance(error, (openai.APIConnectionError, anthropic.APIConnectionError)):
        return ProviderFailed("The AI provider could not be reached.")
    message = _provider_message(error)  # an error event in the middle of a stream
    if message and key not in message and not _KEY_WORDS.search(message):
        return ProviderFailed(f"The AI provider failed: {message}")
    return ProviderFailed("The AI provider failed.")


def _provider_message(error: Exception) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message")
        if isinstance(message, str):
            return message[:300]
    return ""


_SDK_ERRORS = (openai.OpenAIError, anthropic.AnthropicError)


# --- calls ----------------------------------------------------------------------------------------------


def _openai_request(call: Call) -> dict:
    messages = [{"role": "system", "content": call.system}] if call.system else []
    messages.append({"role": "user", "content": call.prompt})
    request = {"model": call.model, "messages": messages, "max_completion_tokens": call.max_tokens}
    if call.temperature is not None:
        request["temperature"] = call.temperature
    return request


def _anthropic_request(call: Call) -> dict:
    request = {"model": call.model, "max_tokens": call.max_tokens,
               "messages": [{"role": "user", "content": call.prompt}]}
    if call.system:
        request["system"] = call.system
    # No temperature: the Messages API of the current SDK takes no sampling parameters (the option is
    # validated for both providers, and applies to OpenAI alone).
    return request


async def complete(call: Call) -> tuple[str, Usage]:
    """The whole reply and its usage."""
    client = _client(call.provider, call.key, call.timeout)
    try:
        if call.provider == OPENAI:
            answer = await client.chat.completions.create(**_openai_request(call))
            text = (answer.choices[0].message.content or "") if answer.choices else ""
            usage = answer.usage
            if usage is not None:
                return text, Usage(usage.prompt_tokens, usage.completion_tokens, reported=True)
        else:
            answer = await client.messages.create(**_anthropic_request(call))
            text = "".join(block.text for block in answer.content if getattr(block, "type", "") == "text")
            usage = answer.usage
            if usage is not None:
                return text, Usage(usage.input_tokens, usage.output_tokens, reported=True)
    except _SDK_ERRORS as error:
        raise _translated(error, call.key) from None
    return text, Usage(estimate_tokens(call.system + call.prompt), estimate_tokens(text))


@dataclass
class Stream:
    """A streamed reply: iterate `deltas()`; `usage` and `text` are up to date at every point, when the
    stream ends early too (cancelled, failed)."""

    call: Call
    text: str = ""
    usage: Usage = field(default_factory=Usage)
    _prompt_reported: bool = False
    _completion_reported: bool = False

    async def deltas(self) -> AsyncIterator[str]:
        call = self.call
        client = _client(call.provider, call.key, call.timeout)
        try:
            if call.provider == OPENAI:
                stream = await client.chat.completions.create(
                    **_openai_request(call), stream=True, stream_options={"include_usage": True}
                )
                async with stream:
                    async for chunk in stream:
                        if chunk.usage is not None:
                            self._reported(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                        for choice in chunk.choices:
                            if choice.delta and choice.delta.content:
                                self.text += choice.delta.content
                                yield choice.delta.content
            else:
                stream = await client.messages.create(**_anthropic_request(call), stream=True)
                async with stream:
                    async for event in stream:
                        if event.type == "message_start" and event.message.usage is not None:
                            self._reported(event.message.usage.input_tokens, None)
                        elif event.type == "content_block_delta" and getattr(event.delta, "type", "") == "text_delta":
                            self.text += event.delta.text
                            yield event.delta.text
                        elif event.type == "message_delta" and event.usage is not None:
                            self._reported(event.usage.input_tokens, event.usage.output_tokens)
        except _SDK_ERRORS as error:
            raise _translated(error, call.key) from None
        finally:
            self._settle()

    def _reported(self, prompt_tokens: int | None, completion_tokens: int | None) -> None:
        if prompt_tokens is not None:
            self.usage.prompt_tokens, self._prompt_reported = prompt_tokens, True
        if completion_tokens is not None:
            self.usage.completion_tokens, self._completion_reported = completion_tokens, True

    def _settle(self) -> None:
        """Estimate whatever the provider did not report (a stream cut short reports nothing at the end)."""
        if not self._prompt_reported:
            self.usage.prompt_tokens = estimate_tokens(self.call.system + self.call.prompt)
        if not self._completion_reported:
            self.usage.completion_tokens = estimate_tokens(self.text)
        self.usage.reported = self._prompt_reported and self._completion_reported


async def validate_key(provider: str, key: str, timeout: float) -> None:
    """One cheap call with `key` (listing models); raises `KeyRejected`, `ProviderFailed` or `ProviderTimedOut`."""
    client = _client(provider, key, timeout)
    try:
        await client.models.list()
    except _SDK_ERRORS as error:
        raise _translated(error, key) from None
