"""Django's Redis cache with one client object per connection pool instead of one per call."""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusedRedisCacheClient(RedisCacheClient):
    """Keeps the `redis.Redis` of each pool: building one copies redis-py's ~170 response callbacks into a
    fresh dict, and every request makes several cache calls (rate limit, token family check).
    `redis.Redis` is safe to share between threads: each command borrows a connection from the pool."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class RedisCache(DjangoRedisCache):
    """`django.core.cache.backends.redis.RedisCache`, reusing its clients."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient
