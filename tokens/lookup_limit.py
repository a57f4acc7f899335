"""Limit failed token lookups per client IP: Bearer, introspection and Check a token.

Every place that takes a token value and says whether it is one of ours counts
its misses here, so no path guesses values without limit. Only misses count and
only misses are refused: a value that is a token is always found, and costs no
cache round trip.

Each miss is counted twice: in this process's memory, which refuses at once an
address this process has seen fail too often, and in the shared cache, so that
N worker processes do not allow N times the limit. While the shared cache is
down the per-process count alone limits.
"""

from __future__ import annotations

import functools

from django.conf import settings

from accounts.ratelimit import FailureLimiter, LocalFailureLimiter, wait_minutes
from accounts.shared_cache import SharedCacheUnavailable


class TooManyFailures(Exception):
    """The address has failed too often; `wait` is the seconds until it may try again."""

    def __init__(self, wait: int) -> None:
        super().__init__(wait)
        self.wait = wait

    @property
    def minutes(self) -> int:
        """Return the wait in whole minutes, rounded up."""
        return wait_minutes(self.wait)


@functools.cache
def failure_limiter() -> LocalFailureLimiter:
    """Return this process's limiter of failed token lookups per client IP."""
    return LocalFailureLimiter(
        limit=settings.KEYWARD_API_AUTH_FAILURES_PER_IP,
        window=settings.KEYWARD_API_AUTH_FAILURE_WINDOW_SECONDS,
    )


def shared_failure_limiter() -> FailureLimiter:
    """Return the limiter of failed token lookups per client IP that all processes share."""
    return FailureLimiter(
        "api-ip",
        limit=settings.KEYWARD_API_AUTH_FAILURES_PER_IP,
        window=settings.KEYWARD_API_AUTH_FAILURE_WINDOW_SECONDS,
    )


def count_failure(ip: str) -> None:
    """Count a failed lookup from `ip`, or raise TooManyFailures once it has failed too often."""
    local = failure_limiter()
    wait = local.retry_after(ip)
    if wait:
        raise TooManyFailures(wait)
    local.record_failure(ip)
    try:
        wait = shared_failure_limiter().hit(ip)
    except SharedCacheUnavailable:
        return  # logged once by shared_cache; the count above limits meanwhile
    if wait:
        local.block(ip, wait)
        raise TooManyFailures(wait)
