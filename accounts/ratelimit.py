"""Count failures in Django's cache and refuse callers who fail too often."""

from __future__ import annotations

import hashlib
import math
import threading
import time

from django.core.cache import cache


def wait_minutes(seconds: int) -> int:
    """Return a wait in whole minutes, rounded up, at least one (what messages tell people)."""
    return max(1, math.ceil(seconds / 60))


class FailureLimiter:
    """Allow at most `limit` failures per identity in a fixed window of `window` seconds.

    The window starts at the first failure and ends by itself, so nobody is
    locked out for longer than `window` seconds after their last chance.
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
        if cache.get(key, 0) < self.limit:
            return 0
        until = cache.get(f"{key}:until") or time.time() + self.window
        return max(1, math.ceil(until - time.time()))

    def record_failure(self, identity: str) -> None:
        """Count one failure for `identity`; every entry expires when the window ends."""
        key = self._key(identity)
        now = time.time()
        cache.add(f"{key}:until", now + self.window, timeout=self.window)
        until = cache.get(f"{key}:until") or now + self.window
        remaining = max(1, math.ceil(until - now))
        if cache.add(key, 1, timeout=remaining):
            return
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=remaining)
            return
        # Caches without an atomic increment (the database cache) store the new count
        # with their default timeout, which would outlive or cut short the window.
        cache.touch(key, remaining)

    def reset(self, identity: str) -> None:
        """Forget the failures of `identity`."""
        key = self._key(identity)
        cache.delete_many([key, f"{key}:until"])


class LocalFailureLimiter:
    """Count failures per identity in this process's memory, in a fixed window.

    For checks on every API request: a dictionary read costs well under a
    microsecond, where even Django's local-memory cache pickles and validates
    keys. Limits hold per process.
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

    def reset(self, identity: str | None = None) -> None:
        """Forget the failures of `identity`, or of everyone."""
        with self._lock:
            if identity is None:
                self._failures.clear()
            else:
                self._failures.pop(identity, None)
