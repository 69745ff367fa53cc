"""The cache backends: Django's, with a window counter for the rate limits (`incr_window`).

Redis: one connection pool and one client per process, and the counter in one round trip.

Django keeps cache backends per thread, and under ASGI every request runs in a thread of its own: the
stock backend therefore built a new `ConnectionPool` for each request, so each request opened a new TCP
connection to Redis (and redis-py read its package metadata from disk to describe the driver).
"""

from __future__ import annotations

import contextlib
import threading

from django.core.cache.backends.locmem import LocMemCache as DjangoLocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_clients: dict[tuple, object] = {}  # (server, pool options) -> redis.Redis on its own pool, for the whole process
_lock = threading.Lock()
# DECR on a missing key would create it at -1 with no expiry.
_DECR_IF_PRESENT = "if redis.call('exists', KEYS[1]) == 1 then return redis.call('decr', KEYS[1]) end return 0"


class SharedRedisCacheClient(RedisCacheClient):
    """Borrows connections from pools shared by every thread of the process.

    `redis.Redis` and its `ConnectionPool` are thread-safe (each command borrows a connection), and the
    pool resets itself in a forked child. One `redis.Redis` per pool is kept: building one copies
    redis-py's ~170 response callbacks into a fresh dict.
    """

    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        pool_options = tuple(sorted((name, repr(value)) for name, value in self._pool_options.items()))
        self._keys = [(server, pool_options) for server in self._servers]

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = _clients.get(self._keys[index])
        if client is None:
            with _lock:
                client = _clients.get(self._keys[index])
                if client is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    client = _clients[self._keys[index]] = self._client(connection_pool=pool)
        return client

    def incr_window(self, key: str, timeout: int) -> int:
        """Create the counter at 0 with `timeout` if it is missing, add one, return the count: one round trip."""
        pipe = self.get_client(key, write=True).pipeline(transaction=False)
        pipe.set(key, 0, ex=timeout, nx=True)
        pipe.incr(key)
        return pipe.execute()[1]

    def decr_window(self, key: str) -> None:
        """Take one hit back from a window counter that still exists (a missing one is not created)."""
        self.get_client(key, write=True).eval(_DECR_IF_PRESENT, 1, key)

    def get_and_incr_window(self, key: str, counter: str, timeout: int):
        """`get(key)` and `incr_window(counter, timeout)` in one round trip: (value or None, count)."""
        pipe = self.get_client(counter, write=True).pipeline(transaction=False)
        pipe.get(key)
        pipe.set(counter, 0, ex=timeout, nx=True)
        pipe.incr(counter)
        value, _, count = pipe.execute()
        return (None if value is None else self._serializer.loads(value)), count


class RedisCache(DjangoRedisCache):
    """`django.core.cache.backends.redis.RedisCache` on process-wide pools."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedRedisCacheClient

    def incr_window(self, key: str, timeout: int) -> int:
        """A fixed-window counter (rate limits) in one round trip."""
        key = self.make_and_validate_key(key)
        return self._cache.incr_window(key, timeout)

    def decr_window(self, key: str) -> None:
        """Take one hit back from a window counter (`incr_window`); a counter gone meanwhile stays gone."""
        self._cache.decr_window(self.make_and_validate_key(key))

    def get_and_incr_window(self, key: str, counter: str, timeout: int):
        """`get(key)` (None when missing) and `incr_window(counter, timeout)` in one round trip."""
        return self._cache.get_and_incr_window(
            self.make_and_validate_key(key), self.make_and_validate_key(counter), timeout
        )


class LocMemCache(DjangoLocMemCache):
    """The embedded default's in-memory cache, with the same window counter."""

    def incr_window(self, key: str, timeout: int) -> int:
        """Create the counter at 0 with `timeout` if it is missing, add one, return the count."""
        self.add(key, 0, timeout=timeout)
        try:
            return self.incr(key)
        except ValueError:  # expired between add and incr
            self.add(key, 1, timeout=timeout)
            return 1

    def get_and_incr_window(self, key: str, counter: str, timeout: int):
        """`get(key)` (None when missing) and `incr_window(counter, timeout)`."""
        return self.get(key), self.incr_window(counter, timeout)

    def decr_window(self, key: str) -> None:
        """Take one hit back from a window counter (`incr_window`); a counter gone meanwhile stays gone."""
        with contextlib.suppress(ValueError):
            self.decr(key)


@contextlib.contextmanager
def redis_round_trips():
    """For tests and benchmarks: a list that collects every command batch redis-py sends in this process
    while the block runs (one send per round trip)."""
    from redis.connection import AbstractConnection

    original, sent = AbstractConnection.send_packed_command, []

    def counted(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counted
    try:
        yield sent
    finally:
        AbstractConnection.send_packed_command = original
