"""Enforce a token's limits: the one function the gateway check and the API both call.

Only a token with limits pays for counting (one round trip to the shared
cache); the limits themselves arrive with the token's lookup row. While the
shared cache is down, limits are not enforced (fail open): the token was
authenticated and authorised by the database, limits only bound cost, and
refusing every limited token during a cache outage would take the guarded
services down with the cache. The outage is logged once (accounts.shared_cache).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from accounts import shared_cache
from gateway import limit_counts, limit_spec
from gateway.limit_counts import Count
from gateway.limit_spec import Limits
from tokens.auth import TokenPrincipal

logger = logging.getLogger("keyward.gateway.limits")

MESSAGES = {
    "rate_limited": "This token is sending requests faster than its rate limit allows.",
    "quota_exceeded": "This token has used its whole quota.",
}


@dataclass(frozen=True, slots=True)
class Admission:
    """The verdict on a limited token's request: headers for any answer, and a refusal or None."""

    headers: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    limit: dict | None = None
    resets_at: datetime | None = None
    retry_after: int | None = None

    @property
    def allowed(self) -> bool:
        """Return whether the request is within the token's limits."""
        return self.error is None

    def body(self) -> dict:
        """Return the JSON body of a refusal: which limit, and when it resets."""
        return {
            "error": self.error,
            "message": MESSAGES[self.error],
            "limit": self.limit,
            "resets_at": self.resets_at.isoformat().replace("+00:00", "Z")
            if self.resets_at
            else None,
        }


def limits_of(principal: TokenPrincipal) -> Limits | None:
    """Return the limits the token's lookup row carried, or None."""
    return limit_spec.parse(principal.extras.get(limit_spec.LOOKUP_NAME))


def _seconds(value: float) -> int:
    return max(0, math.ceil(value))


def _headers(limits: Limits, count: Count, now: datetime) -> dict[str, str]:
    """Return RateLimit-Policy and RateLimit (draft-ietf-httpapi-ratelimit-headers)."""
    policies, states = [], []
    if limits.rate is not None:
        policies.append(f'"rate";q={limits.rate};w={limits.rate_seconds}')
        states.append(f'"rate";r={count.rate_remaining or 0};t={_seconds(count.rate_reset)}')
    if limits.quota is not None:
        resets_at = limit_counts.quota_resets_at(limits.quota_period, now)
        left = max(0, limits.quota - count.quota_used)
        policy, state = f'"quota";q={limits.quota}', f'"quota";r={left}'
        if resets_at is not None:
            policy += f";w={_seconds((resets_at - now).total_seconds())}"
            state += f";t={_seconds((resets_at - now).total_seconds())}"
        policies.append(policy)
        states.append(state)
    return {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(states)}


def admit(principal: TokenPrincipal) -> Admission | None:
    """Count one request of the token against its limits; None when it has none (or no cache).

    A refusal names the limit, when it resets and how long to wait (Retry-After).
    """
    limits = limits_of(principal)
    if limits is None:
        return None
    now = timezone.now().astimezone(UTC)
    try:
        count = shared_cache.use(
            lambda cache: limit_counts.counter(cache).count(cache, principal.token_pk, limits, now)
        )
    except shared_cache.SharedCacheUnavailable:
        return None  # fail open; shared_cache logged the outage
    headers = _headers(limits, count, now)
    if count.refused is None:
        from gateway import limit_notices

        limit_notices.quota_used(principal, limits, count.quota_used, now)
        return Admission(headers)
    if count.refused == "rate_limited":
        wait = max(1, math.ceil(count.rate_reset))
        resets_at, limit = now + timedelta(seconds=count.rate_reset), limits.rate_dict()
    else:
        resets_at = limit_counts.quota_resets_at(limits.quota_period, now)
        wait = max(1, math.ceil((resets_at - now).total_seconds())) if resets_at else None
        limit = limits.quota_dict()
    if wait is not None:
        headers["Retry-After"] = str(wait)
    return Admission(headers, count.refused, limit, resets_at, wait)


def quota_used(token_pk: int, limits: Limits | None, now: datetime | None = None) -> int | None:
    """Return how much of the token's quota its current period has used (None without a quota)."""
    if limits is None or limits.quota is None:
        return None
    return quotas_used({token_pk: limits}, now).get(token_pk, 0)


def quotas_used(limits: dict[int, Limits], now: datetime | None = None) -> dict[int, int]:
    """Return the quota used by each token with a quota, in one round trip (0 without a cache)."""
    now = now or timezone.now().astimezone(UTC)
    keys = {
        pk: limit_counts.quota_key(pk, each, now)
        for pk, each in limits.items()
        if each is not None and each.quota is not None
    }
    if not keys:
        return {}
    try:
        found = shared_cache.use(
            lambda cache: limit_counts.counter(cache).used(cache, list(keys.values()))
        )
    except shared_cache.SharedCacheUnavailable:
        return {}
    return {pk: found.get(key, 0) for pk, key in keys.items()}


def carry_quota(from_pk: int, to_pk: int, each: Limits) -> None:
    """Start a rotated token's quota where its predecessor's stands (if the cache answers)."""
    now = timezone.now().astimezone(UTC)
    try:
        shared_cache.use(lambda cache: limit_counts.carry_quota(cache, from_pk, to_pk, each, now))
    except shared_cache.SharedCacheUnavailable:
        logger.warning("The quota use of token %s was not carried to its rotation", from_pk)
