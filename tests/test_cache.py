"""The cache backends (mdcreator/cache.py): the rate limits' window counter and process-wide Redis pools."""

import threading
import time

import time_machine
from django.core.cache import cache, caches

from mdcreator.cache import LocMemCache, RedisCache, redis_round_trips


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


def test_cache_redis_reads_a_key_and_counts_a_window_in_one_round_trip():
    assert isinstance(caches["default"], RedisCache), "the suite runs on Redis (make test sets REDIS_URL)"
    cache.set("kept", {"owner": "x"})
    with redis_round_trips() as sent:
        assert cache.get_and_incr_window("kept", "one-trip", 30) == ({"owner": "x"}, 1)
    assert len(sent) == 1
    assert cache.get_and_incr_window("missing", "one-trip", 30) == (None, 2)
    client = cache._cache.get_client(write=True)
    assert 0 < client.ttl(cache.make_and_validate_key("one-trip")) <= 30
    cache.decr_window("one-trip")
    assert cache.incr_window("one-trip", 30) == 2


def test_cache_redis_taking_a_hit_back_never_creates_a_counter():
    """A window that expired meanwhile stays gone: DECR alone would leave a -1 with no expiry behind."""
    cache.decr_window("never-counted")
    assert cache._cache.get_client(write=True).exists(cache.make_and_validate_key("never-counted")) == 0


def test_cache_in_memory_reads_a_key_and_counts_a_window():
    memory = LocMemCache("one-trip-test", {})
    memory.set("kept", "owner")
    assert memory.get_and_incr_window("kept", "w", 10) == ("owner", 1)
    assert memory.get_and_incr_window("missing", "w", 10) == (None, 2)
    memory.decr_window("w")
    memory.decr_window("never-counted")
    assert memory.incr_window("w", 10) == 2 and memory.get("never-counted") is None
