"""Count failures in the shared cache or in process memory; refuse who fails too often."""

from __future__ import annotations

import hashlib
import math
import threading
import time

from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import connections, router, transaction

from accounts import shared_cache


def wait_minutes(seconds: int) -> int:
    """Return a wait in whole minutes, rounded up, at least one (what messages tell people)."""
    return max(1, math.ceil(seconds / 60))


def _seconds(milliseconds: int, window: int) -> int:
    """Return whole seconds left from Redis's PTTL (negative: no expiry or no key)."""
    return max(1, math.ceil(milliseconds / 1000)) if milliseconds > 0 else window


class _RedisCounts:
    """Counters in Redis: one key per identity, its expiry the end of the window, atomic."""

    @staticmethod
    def _client(cache, key: str):
        return cache._cache.get_client(key, write=True)

    def count(self, cache, key: str, window: int) -> tuple[int, int]:
        key = cache.make_and_validate_key(key)
        # One transaction: the first failure opens the window; later ones never move its end.
        pipe = self._client(cache, key).pipeline(transaction=True)
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        pipe.pttl(key)
        _, count, left = pipe.execute()
        return int(count), _seconds(left, window)

    def read(self, cache, key: str, window: int) -> tuple[int, int]:
        key = cache.make_and_validate_key(key)
        pipe = self._client(cache, key).pipeline(transaction=False)
        pipe.get(key)
        pipe.pttl(key)
        count, left = pipe.execute()
        return int(count or 0), _seconds(left, window)

    def forget(self, cache, key: str) -> None:
        cache.delete(key)


class _CacheCounts:
    """Counters through Django's cache API (database, local memory): a count, its window's end."""

    def count(self, cache, key: str, window: int) -> tuple[int, int]:
        now = time.time()
        cache.add(f"{key}:until", now + window, timeout=window)
        until = cache.get(f"{key}:until") or now + window
        remaining = max(1, math.ceil(until - now))
        if cache.add(key, 1, timeout=remaining):
            return 1, remaining
        self._before_increment(cache, key)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=remaining)
            return 1, remaining
        # Caches without an atomic increment (the database cache) store the new count
        # with their default timeout, which would outlive or cut short the window.
        cache.touch(key, remaining)
        return count, remaining

    def _before_increment(self, cache, key: str) -> None:
        """Make the increment that follows safe from others counting the same key."""

    def read(self, cache, key: str, window: int) -> tuple[int, int]:
        values = cache.get_many([key, f"{key}:until"])
        until = values.get(f"{key}:until") or time.time() + window
        return values.get(key, 0), max(1, math.ceil(until - time.time()))

    def forget(self, cache, key: str) -> None:
        cache.delete_many([key, f"{key}:until"])


class _DatabaseCounts(_CacheCounts):
    """Counters in the database cache's table, each count one transaction holding a lock.

    Django's database cache increments by a read then a write, so two processes
    counting at once would both write the same number. Here a count starts by
    writing to its row: PostgreSQL then locks the row and SQLite the database
    until the count commits, and the next count reads what this one wrote.
    """

    def count(self, cache, key: str, window: int) -> tuple[int, int]:
        with transaction.atomic(using=self._db(cache)):
            self._before_increment(cache, key)
            return super().count(cache, key, window)

    @staticmethod
    def _db(cache) -> str:
        return router.db_for_write(cache.cache_model_class)

    def _before_increment(self, cache, key: str) -> None:
        # Again after an add() that lost a race: the row exists now, so it can be locked.
        connection = connections[self._db(cache)]
        name = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {name(cache._table)} SET {name('expires')} = {name('expires')} "  # noqa: S608 quoted names
                f"WHERE {name('cache_key')} = %s",
                [cache.make_and_validate_key(key)],
            )


def _counts(cache) -> _RedisCounts | _CacheCounts:
    if isinstance(cache, RedisCache):
        return _REDIS
    return _DATABASE if isinstance(cache, DatabaseCache) else _GENERIC


_REDIS = _RedisCounts()
_DATABASE = _DatabaseCounts()
_GENERIC = _CacheCounts()


class FailureLimiter:
    """Allow at most `limit` failures per identity in a fixed window of `window` seconds.

    The window starts at the first failure and ends by itself, so nobody is
    locked out for longer than `window` seconds after their last chance. Counts
    live in the shared cache (`accounts.shared_cache`), so they hold across
    worker processes; every method raises SharedCacheUnavailable while it is down.
    """

    def __init__(self, scope: str, *, limit: int, window: int) -> None:
        self.scope = scope
        self.limit = limit
        self.window = window

    def _key(self, identity: str) -> str:
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        return f"keyward:fail:{self.scope}:{digest}"

    def retry_after(self, identity: str) -> int:
        """Return the seconds until `identity` may try again, or 0 if it may now."""
        key = self._key(identity)
        count, left = shared_cache.use(lambda cache: _counts(cache).read(cache, key, self.window))
        return left if count >= self.limit else 0

    def record_failure(self, identity: str) -> None:
        """Count one failure for `identity`; every entry expires when the window ends."""
        self.hit(identity)

    def hit(self, identity: str) -> int:
        """Count one failure for `identity`; return the seconds to wait if it is now over the limit.

        One round trip on Redis: for checks that count every attempt they refuse.
        """
        key = self._key(identity)
        count, left = shared_cache.use(lambda cache: _counts(cache).count(cache, key, self.window))
        return left if count > self.limit else 0

    def reset(self, identity: str) -> None:
        """Forget the failures of `identity`."""
        key = self._key(identity)
        shared_cache.use(lambda cache: _counts(cache).forget(cache, key))


class LocalFailureLimiter:
    """Count failures per identity in this process's memory, in a fixed window.

    A fast path in front of a shared limiter, and its fallback while the shared
    cache is down: a dictionary read costs well under a microsecond, where even
    Django's local-memory cache pickles and validates keys. Limits hold per process.
    """

    def __init__(self, *, limit: int, window: int, max_identities: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_identities = max_identities
        self._failures: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, identity: str) -> int:
        """Return the seconds until `identity` may try again, or 0 if it may now."""
        entry = self._failures.get(identity)
        if entry is None:
            return 0
        count, until = entry
        now = time.time()
        if now >= until:
            return 0
        return max(1, math.ceil(until - now)) if count >= self.limit else 0

    def record_failure(self, identity: str) -> None:
        """Count one failure for `identity`."""
        now = time.time()
        with self._lock:
            count, until = self._failures.get(identity, (0, 0.0))
            if now >= until:
                count, until = 0, now + self.window
            if len(self._failures) >= self.max_identities:
                self._failures = {k: v for k, v in self._failures.items() if v[1] > now}
            self._failures[identity] = (count + 1, until)

    def block(self, identity: str, seconds: int) -> None:
        """Refuse `identity` for `seconds` (the shared limit said so): no need to ask again."""
        with self._lock:
            self._failures[identity] = (self.limit, time.time() + seconds)

    def reset(self, identity: str | None = None) -> None:
        """Forget the failures of `identity`, or of everyone."""
        with self._lock:
            if identity is None:
                self._failures.clear()
            else:
                self._failures.pop(identity, None)
