"""Count a limited token's requests in the shared cache: a rate by GCRA, a quota by a counter.

The rate is a generic cell rate algorithm (GCRA, a token bucket kept as one
number): each request pushes the token's "theoretical arrival time" one
interval (period / rate) further; a request is refused while that time would
run more than `burst` intervals ahead of now. It stores one value per token,
refills smoothly (no doubled burst at a window's edge, as fixed windows allow)
and tells exactly when the next request fits. The quota is a plain counter per
period (the month's name, or "total" for a quota that never refills): a new
month is a new key, so the refill at the month's start (UTC) needs no job.

On Redis both are one Lua script: atomic and one round trip. Elsewhere
(the database cache) they run in one transaction that locks their rows, so
processes count correctly together; local memory (tests, the demo) uses a lock.
A request refused by either limit is not counted by the other.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.cache import BaseCache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

from accounts import ratelimit
from gateway.limit_spec import Limits

RATE_KEY = "keyward:limit:rate:{pk}"
QUOTA_KEY = "keyward:limit:quota:{pk}:{period}"


@dataclass(frozen=True, slots=True)
class Count:
    """What counting one request found.

    `refused` is None, "rate_limited" or "quota_exceeded". `rate_remaining` is how many
    more requests fit now; `rate_reset` the seconds until the bucket is full again (or,
    when refused, until the next request fits). `quota_used` counts this request.
    """

    refused: str | None
    rate_remaining: int | None
    rate_reset: float
    quota_used: int


def quota_period(period: str, now: datetime) -> str:
    """Return the name of the quota period `now` falls in: "total", or its month as YYYY-MM."""
    return "total" if period == "total" else f"{now:%Y-%m}"


def quota_resets_at(period: str, now: datetime) -> datetime | None:
    """Return when a quota refills (the next month's first instant, UTC), or None if never."""
    if period == "total":
        return None
    now = now.astimezone(UTC)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def quota_key(pk: int, limits: Limits, now: datetime) -> str:
    """Return the cache key of the token's quota in the period of `now`."""
    return QUOTA_KEY.format(pk=pk, period=quota_period(limits.quota_period, now))


def _quota_ttl(limits: Limits, now: datetime) -> int:
    """Return how long a quota counter is kept: past its month (0: for ever)."""
    resets_at = quota_resets_at(limits.quota_period, now)
    return 0 if resets_at is None else math.ceil((resets_at - now).total_seconds()) + 86400


# KEYS: the rate key, the quota key. ARGV: now (ms), interval (ms, "" without a rate),
# burst, quota ("" without one), the quota key's expiry in seconds (0: none).
LUA = """
local now = tonumber(ARGV[1])
local used = 0
if ARGV[4] ~= "" then
  used = tonumber(redis.call("GET", KEYS[2]) or "0")
  if used >= tonumber(ARGV[4]) then return {"quota_exceeded", -1, "0", used} end
end
local remaining, reset = -1, 0
if ARGV[2] ~= "" then
  local interval = tonumber(ARGV[2])
  local burst = tonumber(ARGV[3])
  local tat = tonumber(redis.call("GET", KEYS[1]) or "0")
  if tat < now then tat = now end
  local next_tat = tat + interval
  local allow_at = next_tat - burst * interval
  if allow_at > now then return {"rate_limited", 0, tostring(allow_at - now), used} end
  redis.call("SET", KEYS[1], tostring(next_tat), "PX", math.ceil(next_tat - now))
  remaining = math.floor((now - allow_at) / interval)
  reset = next_tat - now
end
if ARGV[4] ~= "" then
  used = redis.call("INCR", KEYS[2])
  if used == 1 and ARGV[5] ~= "0" then redis.call("EXPIRE", KEYS[2], ARGV[5]) end
end
return {"ok", remaining, tostring(reset), used}
"""


def _interval_ms(limits: Limits) -> float:
    return limits.rate_seconds * 1000 / limits.rate


def _count(status, remaining, reset_ms, used) -> Count:
    status = status.decode() if isinstance(status, bytes) else status
    return Count(
        refused=None if status == "ok" else status,
        rate_remaining=None if int(remaining) < 0 else int(remaining),
        rate_reset=float(reset_ms) / 1000,
        quota_used=int(used),
    )


class _RedisCounter:
    def __init__(self) -> None:
        self._scripts: dict[int, object] = {}

    def count(self, cache, pk: int, limits: Limits, now: datetime) -> Count:
        rate_key = cache.make_and_validate_key(RATE_KEY.format(pk=pk))
        q_key = cache.make_and_validate_key(quota_key(pk, limits, now))
        client = cache._cache.get_client(rate_key, write=True)
        script = self._scripts.get(id(client))
        if script is None:  # EVALSHA, loading the script once per server
            script = self._scripts[id(client)] = client.register_script(LUA)
        args = [
            now.timestamp() * 1000,
            "" if limits.rate is None else repr(_interval_ms(limits)),
            limits.burst or 0,
            "" if limits.quota is None else limits.quota,
            _quota_ttl(limits, now) if limits.quota is not None else 0,
        ]
        return _count(*script(keys=[rate_key, q_key], args=args, client=client))

    def used(self, cache, keys: list[str]) -> dict[str, int]:
        if not keys:
            return {}
        made = [cache.make_and_validate_key(key) for key in keys]
        values = cache._cache.get_client(made[0]).mget(made)
        return {key: int(value or 0) for key, value in zip(keys, values, strict=True)}

    def store(self, cache, key: str, used: int, ttl: int) -> None:
        made = cache.make_and_validate_key(key)
        cache._cache.get_client(made, write=True).set(made, used, ex=ttl or None)


class _CacheCounter:
    """The same algorithm through Django's cache API, for the database and local memory."""

    _lock = threading.Lock()

    def count(self, cache, pk: int, limits: Limits, now: datetime) -> Count:
        with self._lock:
            return self._count(cache, pk, limits, now)

    def _count(self, cache, pk: int, limits: Limits, now: datetime) -> Count:
        rate_key, q_key = RATE_KEY.format(pk=pk), quota_key(pk, limits, now)
        now_ms = now.timestamp() * 1000
        used = 0
        if limits.quota is not None:
            used = cache.get(q_key, 0)
            if used >= limits.quota:
                return Count("quota_exceeded", None, 0, used)
        remaining, reset = None, 0.0
        if limits.rate is not None:
            interval = _interval_ms(limits)
            tat = max(cache.get(rate_key, 0), now_ms)
            next_tat = tat + interval
            allow_at = next_tat - limits.burst * interval
            if allow_at > now_ms:
                return Count("rate_limited", 0, (allow_at - now_ms) / 1000, used)
            cache.set(rate_key, next_tat, timeout=math.ceil((next_tat - now_ms) / 1000))
            remaining = math.floor((now_ms - allow_at) / interval)
            reset = (next_tat - now_ms) / 1000
        if limits.quota is not None:
            used += 1
            cache.set(q_key, used, timeout=_quota_ttl(limits, now) or None)
        return Count(None, remaining, reset, used)

    def used(self, cache, keys: list[str]) -> dict[str, int]:
        found = cache.get_many(keys) if keys else {}
        return {key: int(found.get(key, 0)) for key in keys}

    def store(self, cache, key: str, used: int, ttl: int) -> None:
        cache.set(key, used, timeout=ttl or None)


class _DatabaseCounter(_CacheCounter):
    """Count in one transaction that first writes the two rows: others wait for it to commit."""

    def count(self, cache, pk: int, limits: Limits, now: datetime) -> Count:
        keys = [RATE_KEY.format(pk=pk)] if limits.rate is not None else []
        if limits.quota is not None:
            keys.append(quota_key(pk, limits, now))
        lock = ratelimit._DATABASE._before_increment
        with transaction.atomic(using=ratelimit._DATABASE._db(cache)):
            for key in keys:  # always in this order, so two counts never wait on each other
                # Write before reading anything (SQLite then holds its write lock, and the
                # reads that follow see the last commit); again once the row surely exists.
                lock(cache, key)
                cache.add(key, 0, timeout=None)
                lock(cache, key)
            return self._count(cache, pk, limits, now)


def carry_quota(cache, from_pk: int, to_pk: int, limits: Limits, now: datetime) -> None:
    """Give token `to_pk` the quota use of `from_pk` (a rotation: the same client, one quota)."""
    source, target = quota_key(from_pk, limits, now), quota_key(to_pk, limits, now)
    way = counter(cache)
    used = way.used(cache, [source])[source]
    if used:
        way.store(cache, target, used, _quota_ttl(limits, now))


_REDIS, _DATABASE, _GENERIC = _RedisCounter(), _DatabaseCounter(), _CacheCounter()


def counter(cache) -> _CacheCounter | _RedisCounter:
    """Return the way to count in `cache` (a backend, or django.core.cache.cache, its proxy)."""
    if not isinstance(cache, BaseCache):
        cache = caches["default"]
    if isinstance(cache, RedisCache):
        return _REDIS
    return _DATABASE if isinstance(cache, DatabaseCache) else _GENERIC
