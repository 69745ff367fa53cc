"""The cache backends (mdcreator/cache.py): the rate limits' window counter and process-wide Redis pools."""

import threading
import time

import time_machine
from django.core.cache import cache, caches

from mdcreator.cache import LocMemCache, RedisCache


def test_cache_in_memory_window_counter_counts_and_expires():
    memory = LocMemCache("counter-test", {})
    start = time.time()
    with time_machine.travel(start, tick=False):
        assert [memory.incr_window("k", 10) for _ in range(3)] == [1, 2, 3]
    with time_machine.travel(start + 11, tick=False):
        assert memory.incr_window("k", 10) == 1


def test_cache_redis_window_counter_counts_with_an_expiry():
    assert isinstance(caches["default"], RedisCache), "the suite runs on Redis (make test sets REDIS_URL)"
    assert [cache.incr_window("window-test", 30) for _ in range(3)] == [1, 2, 3]
    client = cache._cache.get_client(write=True)
    assert 0 < client.ttl(cache.make_and_validate_key("window-test")) <= 30


def test_cache_redis_threads_share_one_pool_and_client():
    """Django builds a cache backend per thread; every one of them borrows from the same pool."""
    seen = []

    def use_cache():
        backend = caches.create_connection("default")
        backend.get("anything")
        seen.append(backend._cache.get_client(write=True))

    threads = [threading.Thread(target=use_cache) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4 and len({id(client) for client in seen}) == 1
    assert len({id(client.connection_pool) for client in seen}) == 1
