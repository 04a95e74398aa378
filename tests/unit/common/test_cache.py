import time

from ownstack.common.cache import LRUCache


def test_lru_evicts_least_recently_used() -> None:
    cache: LRUCache[str, int] = LRUCache(2)
    cache.set("a", 1)
    cache.set("b", 2)
    assert cache.get("a") == 1
    cache.set("c", 3)
    assert cache.get("b") is None and cache.get("a") == 1 and cache.get("c") == 3


def test_ttl_expires_entries() -> None:
    cache: LRUCache[str, int] = LRUCache(10, ttl=0.01)
    cache.set("a", 1)
    time.sleep(0.02)
    assert cache.get("a") is None and len(cache) == 0


def test_zero_size_caches_nothing() -> None:
    cache: LRUCache[str, int] = LRUCache(0)
    cache.set("a", 1)
    assert cache.get("a") is None
