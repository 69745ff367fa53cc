"""Fixed-window rate limits kept in the cache (Redis in production, SPEC §9)."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from mdcreator.errors import RateLimitedError

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(second|minute|hour|day)s?\s*$")


@dataclass(frozen=True)
class Rate:
    """`limit` hits per `period` seconds."""

    limit: int
    period: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        """Parse `N/second|minute|hour|day` (also `N/15minute`)."""
        match = _RATE.match(text)
        if not match:
            raise ValueError(f"Invalid rate {text!r}; expected N/second|minute|hour|day")
        count, multiplier, unit = match.groups()
        return cls(limit=int(count), period=int(multiplier or 1) * _PERIODS[unit])


def _key(scope: str, identity: str | None) -> str:
    identity = identity or "unknown"
    digest = hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"rl:{scope}:{digest}"


@dataclass(frozen=True)
class Window:
    """The current window of one limit for one identity: its counter's key and what a count over it means."""

    key: str
    timeout: int
    limit: int
    retry_after: int

    def judge(self, count: int) -> None:
        """Raise `RateLimitedError` with Retry-After when `count` hits are over the limit."""
        if count > self.limit:
            raise RateLimitedError(retry_after=self.retry_after)

    def hit(self) -> None:
        """Count one hit in this window, then judge the count."""
        self.judge(cache.incr_window(self.key, self.timeout))


def window(scope: str, identity: str | None, rate: Rate | str) -> Window:
    """The window `now` falls in for `scope` and `identity`."""
    rate = Rate.parse(rate) if isinstance(rate, str) else rate
    now = time.time()
    index = int(now // rate.period)
    return Window(
        key=f"{_key(scope, identity)}:{index}",
        timeout=rate.period + 1,
        limit=rate.limit,
        retry_after=int((index + 1) * rate.period - now) + 1,
    )


def hit(scope: str, identity: str | None, rate: Rate | str) -> None:
    """Count one hit; raise `RateLimitedError` with Retry-After once over the limit."""
    window(scope, identity, rate).hit()


def api_window(user_id) -> Window:
    """The general API limit's window for one user (`RATE_LIMIT_API`)."""
    return window("api", str(user_id), settings.RATE_LIMIT_API)


def client_ip(request) -> str | None:
    """The caller's IP address, or None when the server saw none usable.

    Behind `TRUSTED_PROXY_COUNT` proxies the address is read from
    X-Forwarded-For, counting from the right: entries further left were
    written by the client and could be forged.
    """
    candidate = request.META.get("REMOTE_ADDR")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= hops:
            candidate = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(candidate or ""))
    except ValueError:
        return None


class ApiRateThrottle(BaseThrottle):
    """The general API limit per authenticated user (`RATE_LIMIT_API`).

    A local bearer token's hit is counted by the authentication, in the same Redis round trip as the
    session's revocation check (`counted_hit` on `request.auth`); the throttle then only judges it.
    """

    def allow_request(self, request, view):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return True
        counted = getattr(request.auth, "counted_hit", None)
        if counted is None:
            api_window(user.pk).hit()
        else:
            current, count = counted
            current.judge(count)
        return True
