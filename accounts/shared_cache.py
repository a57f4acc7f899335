"""Reach the cache the worker processes share (Redis or the database), and notice when it is down.

The limits (sign-in, emails, failed token lookups) count in Django's default
cache. With `REDIS_URL` that is Redis, which can go away while Keyward runs:
`use()` turns its errors into `SharedCacheUnavailable`, logs the outage once per
machine, by the first of its processes to see it (and its end once, by the first
to see that: ops.outages), and for `RETRY_SECONDS` after a failure does not try again,
so a dead or unreachable Redis costs requests nothing. redis-py reconnects by
itself, so nothing needs restarting when Redis is back. `status()` answers
readiness checks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import BaseCache, caches
from django.db import DatabaseError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# After a failure, calls fail at once for this long instead of each waiting on a dead server.
RETRY_SECONDS = 1.0
PROBE_KEY = "keyward:probe"
_clock = time.monotonic

# Errors that mean the cache cannot answer now (not a bug in the caller).
_OUTAGE_ERRORS = (RedisError, OSError)


class SharedCacheUnavailable(Exception):
    """The shared cache did not answer; `reason` says why (no secret in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class CacheStatus:
    """Whether the shared cache answers; `backend` names it, `reason` says why not."""

    reachable: bool
    backend: str
    reason: str = ""


class _Outage:
    """This process's view of the shared cache: down since when, and why."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reason = ""
        self.retry_at = 0.0

    def failed(self, reason: str) -> None:
        """Remember the failure; log it only when it starts an outage no other process logged."""
        from ops import outages  # a model: not importable while the apps load

        with self._lock:
            starts = not self.reason
            self.reason = reason
            self.retry_at = _clock() + RETRY_SECONDS
        if starts and outages.first_to_see_start(reason):
            logger.error(
                "Shared cache unreachable (%s): %s; sign-in waits, API failures are limited "
                "per process until it is back",
                backend_name(),
                reason,
            )

    def answered(self) -> None:
        """Forget the outage; log its end unless another process did."""
        from ops import outages

        if not self.reason:
            return
        with self._lock:
            ended, self.reason, self.retry_at = bool(self.reason), "", 0.0
        if ended and outages.first_to_see_end():
            logger.warning("Shared cache reachable again (%s)", backend_name())

    def waiting(self) -> bool:
        """Return whether a recent failure says not to try yet."""
        return bool(self.reason) and _clock() < self.retry_at


_outage = _Outage()


def shared_cache() -> BaseCache:
    """Return the cache every worker process shares (Django's default cache)."""
    return caches["default"]


def backend_name(cache: BaseCache | None = None) -> str:
    """Name the kind of cache, for logs and readiness answers."""
    kind = type(cache or shared_cache()).__name__
    return {"RedisCache": "redis", "DatabaseCache": "database", "LocMemCache": "local memory"}.get(
        kind, kind
    )


def _describe(error: BaseException) -> str:
    # redis-py's messages name the host and port, never the password of REDIS_URL.
    return f"{type(error).__name__}: {error}".strip()


def use[T](operation: Callable[[BaseCache], T]) -> T:
    """Run `operation` on the shared cache, or raise SharedCacheUnavailable while it is down."""
    if _outage.waiting():
        raise SharedCacheUnavailable(_outage.reason)
    try:
        result = operation(shared_cache())
    except _OUTAGE_ERRORS as error:
        reason = _describe(error)
        _outage.failed(reason)
        raise SharedCacheUnavailable(reason) from error
    _outage.answered()
    return result


def status() -> CacheStatus:
    """Ask the shared cache now (whatever the last failure said) whether it answers, and why not.

    For readiness checks: a Redis that is down or refuses, a database cache whose
    table is missing (run `migrate`) are unreachable, with the reason.
    """
    cache = shared_cache()
    backend = backend_name(cache)
    try:
        cache.get(PROBE_KEY)
    except _OUTAGE_ERRORS as error:
        _outage.failed(_describe(error))
        return CacheStatus(False, backend, _describe(error))
    except DatabaseError as error:
        return CacheStatus(False, backend, f"{_describe(error)} (has migrate run?)")
    _outage.answered()
    return CacheStatus(True, backend)


def forget_outage() -> None:
    """Forget any outage seen, silently (tests start from a cache that answers)."""
    global _outage
    _outage = _Outage()
