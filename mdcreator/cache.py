"""The cache backends: Django's, with a window counter for the rate limits (`incr_window`).

Redis: one connection pool and one client per process, and the counter in one round trip.

Django keeps cache backends per thread, and under ASGI every request runs in a thread of its own: the
stock backend therefore built a new `ConnectionPool` for each request, so each request opened a new TCP
connection to Redis (and redis-py read its package metadata from disk to describe the driver).
"""

from __future__ import annotations

import threading

from django.core.cache.backends.locmem import LocMemCache as DjangoLocMemCache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_clients: dict[tuple, object] = {}  # (server, pool options) -> redis.Redis on its own pool, for the whole process
_lock = threading.Lock()


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


class RedisCache(DjangoRedisCache):
    """`django.core.cache.backends.redis.RedisCache` on process-wide pools."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedRedisCacheClient

    def incr_window(self, key: str, timeout: int) -> int:
        """A fixed-window counter (rate limits) in one round trip."""
        key = self.make_and_validate_key(key)
        return self._cache.incr_window(key, timeout)


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
