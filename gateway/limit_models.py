"""Define per-token limits (a rate and a quota) and each workspace's defaults and ceilings."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

__all__ = ["MAX_LIMIT", "LimitPolicy", "QuotaPeriod", "RatePeriod", "TokenLimits"]

# The largest count a limit may name: Redis counts in signed 64-bit integers.
MAX_LIMIT = 2**63 - 1


class RatePeriod(models.TextChoices):
    SECOND = "second", "per second"
    MINUTE = "minute", "per minute"


class QuotaPeriod(models.TextChoices):
    TOTAL = "total", "in total"
    MONTH = "month", "per calendar month (UTC)"


# Seconds in each rate period.
RATE_SECONDS = {RatePeriod.SECOND: 1, RatePeriod.MINUTE: 60}


def _both_or_neither(a: str, b: str) -> Q:
    return Q(**{f"{a}__isnull": True, b: ""}) | (Q(**{f"{a}__isnull": False}) & ~Q(**{b: ""}))


class TokenLimits(models.Model):
    """How fast a token may be used (rate, burst) and how often in all (quota); either may be off.

    The token lookup reads this row in the same query (gateway.limits), so a token
    without one costs nothing extra on any request.
    """

    token = models.OneToOneField(
        "tokens.Token", on_delete=models.CASCADE, primary_key=True, related_name="limits"
    )
    rate = models.PositiveBigIntegerField(null=True, blank=True, help_text="Requests per period.")
    rate_period = models.CharField(max_length=10, choices=RatePeriod.choices, blank=True)
    burst = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Requests allowed at once; at least the rate."
    )
    quota = models.PositiveBigIntegerField(null=True, blank=True, help_text="Uses allowed.")
    quota_period = models.CharField(max_length=10, choices=QuotaPeriod.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "token limits"
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__isnull=True) | Q(rate__gt=0), name="gateway_limits_rate_positive"
            ),
            models.CheckConstraint(
                condition=Q(quota__isnull=True) | Q(quota__gt=0),
                name="gateway_limits_quota_positive",
            ),
            models.CheckConstraint(
                condition=_both_or_neither("rate", "rate_period"), name="gateway_limits_rate_period"
            ),
            models.CheckConstraint(
                condition=_both_or_neither("quota", "quota_period"),
                name="gateway_limits_quota_period",
            ),
            models.CheckConstraint(
                condition=(Q(rate__isnull=True) & Q(burst__isnull=True))
                | (Q(rate__isnull=False) & Q(burst__gte=models.F("rate"))),
                name="gateway_limits_burst_covers_rate",
            ),
        ]

    def __str__(self) -> str:
        return f"limits of token {self.token_id}"


class LimitPolicy(models.Model):
    """A workspace's limits policy: what new tokens get by default, and the most any may get."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    default_rate = models.PositiveBigIntegerField(null=True, blank=True)
    default_rate_period = models.CharField(max_length=10, choices=RatePeriod.choices, blank=True)
    default_burst = models.PositiveBigIntegerField(null=True, blank=True)
    default_quota = models.PositiveBigIntegerField(null=True, blank=True)
    default_quota_period = models.CharField(max_length=10, choices=QuotaPeriod.choices, blank=True)
    max_rate_per_minute = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The fastest rate a token may have (per second: x 60)."
    )
    max_burst = models.PositiveBigIntegerField(null=True, blank=True)
    max_quota = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="The largest quota (total or per month) a token may have."
    )

    class Meta:
        verbose_name_plural = "limit policies"

    def __str__(self) -> str:
        return f"limit policy of workspace {self.workspace_id}"
