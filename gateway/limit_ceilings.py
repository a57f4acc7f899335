"""Hold the tokens that exist to a workspace's ceilings: when the ceilings are saved, every
active token beyond them (or without a limit a ceiling caps) gets the ceiling.

Rules: a rate above the rate ceiling becomes the fastest rate within the ceilings
(the rate ceiling per minute, unless the burst ceiling is lower: see
limit_services.fastest_rate), a rate its burst ceiling cannot cover comes down
to that ceiling, a burst above its ceiling comes down to it (never below the
rate), a quota above its ceiling comes down to it (its refill kept); a missing
limit a ceiling caps becomes the workspace's default for it, or the ceiling.
Ended (revoked, expired) tokens keep their limits. The capping costs a fixed
number of queries, however many tokens it changes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.audit import audit_event, audit_record_all
from accounts.models import Workspace
from gateway import limit_spec
from gateway.limit_models import LimitPolicy, RatePeriod, TokenLimits
from gateway.limit_services import completed, described, fastest_rate, policy_defaults
from gateway.limit_spec import Limits
from tokens.actors import Actor
from tokens.models import Token

__all__ = ["Capping", "capped", "cappings", "ceilings_apply"]

LIMIT_FIELDS = ("rate", "rate_period", "burst", "quota", "quota_period")
# The audit event's reason for a change the workspace's ceilings made.
REASON = "workspace_ceilings"


@dataclass(frozen=True)
class Capping:
    """One active token's limits, `before` and `after` the ceilings (None: no limits)."""

    token: Token
    row: TokenLimits | None
    before: Limits | None
    after: Limits


def _rate_capped(limits: Limits, policy: LimitPolicy) -> Limits:
    most, max_burst = policy.max_rate_per_minute, policy.max_burst
    per_minute = limits.rate * 60 // limits.rate_seconds
    burst = limits.burst if max_burst is None else min(limits.burst, max_burst)
    too_fast = most is not None and per_minute > most
    # The burst is at least the rate: a rate above the burst ceiling must come down too.
    too_big = max_burst is not None and limits.rate > max_burst
    if not (too_fast or too_big):
        return replace(limits, burst=burst)
    fastest = per_minute if most is None else min(per_minute, most)
    requests, per = fastest_rate(fastest, max_burst)
    return replace(limits, rate=requests, rate_period=per, burst=max(requests, burst))


def capped(limits: Limits | None, policy: LimitPolicy) -> Limits | None:
    """Return `limits` held to the policy's ceilings (see the module's rules), or None when
    neither has a limit."""
    limits = limits or Limits()
    # The defaults lie within the ceilings (clean_limit_policy); without one, the ceiling.
    fill = completed(policy_defaults(policy), policy) or Limits()
    if limits.rate is not None:
        limits = _rate_capped(limits, policy)
    elif policy.max_rate_per_minute is not None:
        limits = replace(limits, rate=fill.rate, rate_period=fill.rate_period, burst=fill.burst)
    if policy.max_quota is not None:
        if limits.quota is None:
            limits = replace(limits, quota=fill.quota, quota_period=fill.quota_period)
        elif limits.quota > policy.max_quota:
            limits = replace(limits, quota=policy.max_quota)
    return limits if limits.rate is not None or limits.quota is not None else None


def _beyond_q(policy: LimitPolicy) -> Q | None:
    """Return the condition of tokens whose limits break a ceiling or lack one it caps, or
    None without ceilings. It only narrows the query: `capped` decides."""
    conditions = Q()
    most = policy.max_rate_per_minute
    if most is not None:
        # rate * 60 > most, without overflowing 64 bits: rate > most // 60.
        conditions |= (
            Q(limits__rate__isnull=True)
            | Q(limits__rate_period=RatePeriod.MINUTE, limits__rate__gt=most)
            | Q(limits__rate_period=RatePeriod.SECOND, limits__rate__gt=most // 60)
        )
    if policy.max_burst is not None:
        conditions |= Q(limits__burst__gt=policy.max_burst)
    if policy.max_quota is not None:
        conditions |= Q(limits__quota__isnull=True) | Q(limits__quota__gt=policy.max_quota)
    return conditions or None


def cappings(workspace_id: int, policy: LimitPolicy, *, lock: bool = False) -> list[Capping]:
    """Return the workspace's active tokens the policy's ceilings change, with their limits
    before and after, in one query; with `lock` (in the transaction that applies them) their
    rows are locked."""
    beyond = _beyond_q(policy)
    if beyond is None:
        return []
    candidates = Token.objects.filter(workspace_id=workspace_id).active().filter(beyond)
    if lock:
        candidates = candidates.select_for_update(of=("self",))
    found = []
    for token in candidates.select_related("limits").order_by("pk"):
        row = getattr(token, "limits", None)
        before = limit_spec.of_row(row)
        after = capped(before, policy)
        if after != before:
            found.append(Capping(token, row, before, after))
    return found


def ceilings_apply(
    *,
    actor: Actor,
    workspace: Workspace,
    policy: LimitPolicy,
    request: HttpRequest | None = None,
) -> list[Capping]:
    """Give the workspace's active tokens beyond the policy's ceilings the ceilings, each
    audited (`token.limits_changed`); return what changed. Callers run it in the transaction
    that saves the policy."""
    changes = cappings(workspace.pk, policy, lock=True)
    now = timezone.now()
    updated, created = [], []
    for change in changes:
        row = change.row or TokenLimits(token=change.token)
        for name in LIMIT_FIELDS:
            setattr(row, name, getattr(change.after, name))
        row.updated_at = now  # bulk_update skips auto_now
        (updated if change.row is not None else created).append(row)
    if updated:
        TokenLimits.objects.bulk_update(updated, [*LIMIT_FIELDS, "updated_at"])
    if created:
        TokenLimits.objects.bulk_create(created)
    audit_record_all(
        [
            audit_event(
                action="token.limits_changed",
                actor=actor,
                workspace=workspace,
                target=change.token,
                request=request,
                details={
                    "name": change.token.name,
                    "from": described(change.before),
                    "to": described(change.after),
                    "reason": REASON,
                },
            )
            for change in changes
        ]
    )
    return changes
