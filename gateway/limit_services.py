"""Set a token's limits: the one service the API, the console and the admin call.

Rules: counts are whole numbers from 1 to 2**63 - 1; a burst is at least the
rate (default: the rate); the workspace's ceilings (LimitPolicy) bound the rate
(compared per minute), the burst and the quota, and with a ceiling a token may
not go unlimited. Errors name their field (rate_limit.requests, quota.uses, ...)
with a stable code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest

from accounts.audit import audit_record
from accounts.locks import lock_workspace
from gateway import limit_spec
from gateway.limit_models import (
    MAX_LIMIT,
    RATE_SECONDS,
    LimitPolicy,
    QuotaPeriod,
    RatePeriod,
    TokenLimits,
)
from gateway.limit_spec import Limits
from tokens import rules
from tokens.actors import Actor
from tokens.models import Token


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`requests` per `per` (second or minute), up to `burst` at once (default: `requests`)."""

    requests: object
    per: object = RatePeriod.MINUTE
    burst: object = None


@dataclass(frozen=True, slots=True)
class Quota:
    """`uses` in `period`: in total, or per calendar month (UTC)."""

    uses: object
    period: object = QuotaPeriod.MONTH


def _count(value, field: str, errors: dict) -> int | None:
    """Return `value` as a count from 1 to MAX_LIMIT, or record why it is not one."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except ValueError:
            errors[field] = ValidationError("Enter a whole number.", code="invalid")
            return None
    if value < 1:
        errors[field] = ValidationError("Enter a number of at least 1.", code="min_value")
        return None
    if value > MAX_LIMIT:
        errors[field] = ValidationError(f"Enter at most {MAX_LIMIT}.", code="max_value")
        return None
    return value


def _choice(value, choices, field: str, errors: dict) -> str | None:
    if value not in choices.values:
        errors[field] = ValidationError(
            f"Choose one of: {', '.join(choices.values)}.", code="invalid_choice"
        )
        return None
    return value


def limit_policy(workspace_id: int) -> LimitPolicy | None:
    """Return the workspace's limits policy, or None when it has none."""
    return LimitPolicy.objects.filter(workspace_id=workspace_id).first()


def _rate_words(per_minute: int) -> str:
    return f"{per_minute} request{'s' if per_minute != 1 else ''} per minute"


def over_ceilings(
    limits: Limits, policy: LimitPolicy | None, errors: dict, *, required: bool = True
) -> None:
    """Record, by field, where `limits` exceed the policy's ceilings (or, when `required`,
    lack a limit a ceiling caps)."""
    if policy is None:
        return
    if policy.max_rate_per_minute is not None:
        if limits.rate is None:
            if required:
                errors["rate_limit"] = ValidationError(
                    "This workspace requires a rate limit of at most "
                    f"{_rate_words(policy.max_rate_per_minute)}.",
                    code="limit_required",
                )
        elif limits.rate * 60 // limits.rate_seconds > policy.max_rate_per_minute:
            errors["rate_limit.requests"] = ValidationError(
                f"This workspace allows at most {_rate_words(policy.max_rate_per_minute)}.",
                code="above_ceiling",
            )
    if policy.max_burst is not None and limits.rate is not None and limits.burst > policy.max_burst:
        errors["rate_limit.burst"] = ValidationError(
            f"This workspace allows a burst of at most {policy.max_burst}.", code="above_ceiling"
        )
    if policy.max_quota is not None:
        if limits.quota is None:
            if required:
                errors["quota"] = ValidationError(
                    f"This workspace requires a quota of at most {policy.max_quota} uses.",
                    code="limit_required",
                )
        elif limits.quota > policy.max_quota:
            errors["quota.uses"] = ValidationError(
                f"This workspace allows a quota of at most {policy.max_quota} uses.",
                code="above_ceiling",
            )


def clean_limits(rate: RateLimit | None, quota: Quota | None, policy: LimitPolicy | None) -> Limits:
    """Return valid limits, or raise ValidationError with an error per field."""
    errors: dict[str, ValidationError] = {}
    fields = {}
    if rate is not None:
        requests = _count(rate.requests, "rate_limit.requests", errors)
        per = _choice(rate.per, RatePeriod, "rate_limit.per", errors)
        burst = requests
        if rate.burst not in (None, ""):
            burst = _count(rate.burst, "rate_limit.burst", errors)
        if requests is not None and burst is not None and burst < requests:
            errors["rate_limit.burst"] = ValidationError(
                "The burst must be at least the rate (requests per period).",
                code="burst_below_rate",
            )
        fields.update(rate=requests, rate_period=per or "", burst=burst)
    if quota is not None:
        uses = _count(quota.uses, "quota.uses", errors)
        period = _choice(quota.period, QuotaPeriod, "quota.period", errors)
        fields.update(quota=uses, quota_period=period or "")
    if errors:
        raise ValidationError(errors)
    limits = Limits(**fields)
    over_ceilings(limits, policy, errors)
    if errors:
        raise ValidationError(errors)
    return limits


def described(limits: Limits | None) -> dict:
    """Return the limits as the API and the audit log name them (None for a limit that is off)."""
    limits = limits or Limits()
    return {"rate_limit": limits.rate_dict(), "quota": limits.quota_dict()}


def token_limits(token: Token) -> Limits | None:
    """Return the token's limits (uses a prefetched `limits` row when there is one), or None."""
    try:
        return limit_spec.of_row(token.limits)
    except TokenLimits.DoesNotExist:
        return None


def token_limits_set(
    *,
    actor: Actor,
    token: Token,
    rate: RateLimit | None,
    quota: Quota | None,
    request: HttpRequest | None = None,
) -> Limits | None:
    """Give the token these limits (None: no rate limit, no quota); audit a change."""
    if not rules.may_manage(actor, token):
        raise PermissionDenied("You may not change this token's limits.")
    with transaction.atomic():
        # The policy is read under the lock set_limit_policy takes too: a ceiling saved
        # meanwhile is waited for and obeyed, and two writers of one token's limits queue.
        lock_workspace(token.workspace_id)
        limits = clean_limits(rate, quota, limit_policy(token.workspace_id))
        row = TokenLimits.objects.select_for_update().filter(token=token).first()
        before = limit_spec.of_row(row)
        after = limits if limits.rate is not None or limits.quota is not None else None
        if before == after:
            return after
        if after is None:
            row.delete()
        else:
            row = row or TokenLimits(token=token)
            for name in ("rate", "rate_period", "burst", "quota", "quota_period"):
                setattr(row, name, getattr(after, name))
            row.save()
        audit_record(
            action="token.limits_changed",
            actor=actor,
            target=token,
            request=request,
            details={"name": token.name, "from": described(before), "to": described(after)},
        )
    return after


def ceilings_in_words(policy: LimitPolicy | None) -> str:
    """Return "This workspace allows at most 600 requests per minute, a burst of 50, a quota of
    1000 uses.", naming the ceilings it has; empty without any."""
    if policy is None:
        return ""
    parts = []
    if policy.max_rate_per_minute is not None:
        parts.append(_rate_words(policy.max_rate_per_minute))
    if policy.max_burst is not None:
        parts.append(f"a burst of {policy.max_burst}")
    if policy.max_quota is not None:
        parts.append(f"a quota of {policy.max_quota} uses")
    return f"This workspace allows at most {', '.join(parts)}." if parts else ""


def fastest_rate(most_per_minute: int, max_burst: int | None) -> tuple[int, str]:
    """Return the fastest rate (requests, period) of at most `most_per_minute` whose burst,
    the rate itself, is within `max_burst`.

    Under a burst ceiling below the rate a per-minute rate can go no higher than the
    burst; a per-second rate may do more.
    """
    if max_burst is None or max_burst >= most_per_minute:
        return most_per_minute, RatePeriod.MINUTE
    per_second = min(most_per_minute // 60, max_burst)
    if per_second * 60 > max_burst:
        return per_second, RatePeriod.SECOND
    return max_burst, RatePeriod.MINUTE


def ceiling_rate(policy: LimitPolicy) -> tuple[int, str] | None:
    """Return the fastest rate (requests, period) within the policy's ceilings, or None.

    Its burst is the rate itself (see fastest_rate).
    """
    if policy.max_rate_per_minute is None:
        return None
    return fastest_rate(policy.max_rate_per_minute, policy.max_burst)


def completed(limits: Limits | None, policy: LimitPolicy | None) -> Limits | None:
    """Return `limits` with each limit the policy caps but they lack set to its ceiling."""
    if policy is None:
        return limits
    limits = limits or Limits()
    if limits.rate is None and (rate := ceiling_rate(policy)) is not None:
        requests, per = rate
        limits = replace(limits, rate=requests, rate_period=per, burst=requests)
    if limits.quota is None and policy.max_quota is not None:
        period = policy.default_quota_period or QuotaPeriod.MONTH
        limits = replace(limits, quota=policy.max_quota, quota_period=period)
    return limits if limits.rate is not None or limits.quota is not None else None


def policy_defaults(policy: LimitPolicy | None) -> Limits | None:
    """Return the limits the policy names as defaults (without its ceilings), or None."""
    if policy is None or (policy.default_rate is None and policy.default_quota is None):
        return None
    return Limits(
        rate=policy.default_rate,
        rate_period=policy.default_rate_period if policy.default_rate else "",
        burst=(policy.default_burst or policy.default_rate) if policy.default_rate else None,
        quota=policy.default_quota,
        quota_period=policy.default_quota_period if policy.default_quota else "",
    )


def default_limits(workspace_id: int) -> Limits | None:
    """Return the limits the workspace gives new tokens: its defaults, and for a limit it caps
    without a default, the ceiling; or None."""
    policy = limit_policy(workspace_id)
    return completed(policy_defaults(policy), policy)


def give_limits(token: Token, limits: Limits | None) -> None:
    """Store `limits` on a token being issued (defaults, or its rotated predecessor's)."""
    if limits is None:
        return
    TokenLimits.objects.create(
        token=token,
        **{
            name: getattr(limits, name)
            for name in ("rate", "rate_period", "burst", "quota", "quota_period")
        },
    )


__all__ = [
    "RATE_SECONDS",
    "Quota",
    "RateLimit",
    "ceiling_rate",
    "ceilings_in_words",
    "clean_limits",
    "completed",
    "default_limits",
    "described",
    "fastest_rate",
    "give_limits",
    "limit_policy",
    "over_ceilings",
    "policy_defaults",
    "token_limits",
    "token_limits_set",
]
