"""Read and set tokens' limits for the JSON API (tokens.api.register_token_limits)."""

from __future__ import annotations

from datetime import UTC

from django.http import HttpRequest
from django.utils import timezone

from gateway import limit_counts, limit_spec, limits
from gateway.limit_models import TokenLimits
from gateway.limit_services import (
    Quota,
    RateLimit,
    completed,
    limit_policy,
    token_limits,
    token_limits_set,
)
from gateway.limit_spec import Limits
from tokens.actors import Actor
from tokens.models import Token
from tokens.schemas import QuotaOut, RateLimitOut


def described(each: Limits | None, used: int, now) -> dict:
    """Return a token's limits as the API's rate_limit and quota (with the quota's use)."""
    if each is None:
        return {}
    answer = {}
    if each.rate is not None:
        answer["rate_limit"] = RateLimitOut(**each.rate_dict())
    if each.quota is not None:
        answer["quota"] = QuotaOut(
            **each.quota_dict(),
            used=used,
            remaining=max(0, each.quota - used),
            resets_at=limit_counts.quota_resets_at(each.quota_period, now),
        )
    return answer


def read(tokens: list[Token]) -> dict[int, dict]:
    """Return the limits of each token that has some: one query, and one cache round trip."""
    rows = TokenLimits.objects.filter(token__in=[token.pk for token in tokens])
    found = {row.token_id: limit_spec.of_row(row) for row in rows}
    now = timezone.now().astimezone(UTC)
    used = limits.quotas_used(found, now)
    return {pk: described(each, used.get(pk, 0), now) for pk, each in found.items() if each}


def write(*, actor: Actor, token: Token, values: dict, request: HttpRequest | None) -> None:
    """Set the limits sent (rate_limit, quota; None removes one); keep the one not sent
    (a limit the workspace caps that the token lacks: its ceiling)."""
    current = completed(token_limits(token), limit_policy(token.workspace_id)) or Limits()
    rate = quota = None
    if "rate_limit" in values:
        sent = values["rate_limit"]
        rate = RateLimit(sent.requests, sent.per, sent.burst) if sent is not None else None
    elif current.rate is not None:
        rate = RateLimit(current.rate, current.rate_period, current.burst)
    if "quota" in values:
        sent = values["quota"]
        quota = Quota(sent.uses, sent.period) if sent is not None else None
    elif current.quota is not None:
        quota = Quota(current.quota, current.quota_period)
    token_limits_set(actor=actor, token=token, rate=rate, quota=quota, request=request)
