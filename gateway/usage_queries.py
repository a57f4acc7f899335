"""Read a token's usage: a validated period, counts over time by outcome, its clients.

One home for what the API (GET /api/v1/tokens/{id}/usage), the CSV export and
the activity page's charts show, so that they always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.errors import field_error
from gateway.usage_models import Granularity, UsageClient, UsageCount
from tokens.auth import USE_OUTCOMES
from tokens.models import active_q

# The longest period each granularity answers, and what it is when none is asked.
LONGEST = {
    Granularity.MINUTE: timedelta(hours=48),
    Granularity.HOUR: timedelta(days=90),
    Granularity.DAY: timedelta(days=3660),
}
DEFAULT_SPAN = {
    Granularity.MINUTE: timedelta(hours=1),
    Granularity.HOUR: timedelta(hours=24),
    Granularity.DAY: timedelta(days=90),
}
STEP = {
    Granularity.MINUTE: timedelta(minutes=1),
    Granularity.HOUR: timedelta(hours=1),
    Granularity.DAY: timedelta(days=1),
}


@dataclass(frozen=True)
class Period:
    """From (inclusive) to (exclusive), in steps of a granularity."""

    start: datetime
    end: datetime
    granularity: str

    def buckets(self) -> list[datetime]:
        """Return the start of every step in the period."""
        step = STEP[self.granularity]
        moment, found = floor(self.start, self.granularity), []
        while moment < self.end:
            found.append(moment)
            moment += step
        return found


def floor(moment: datetime, granularity: str) -> datetime:
    """Return the start of the step `moment` falls in."""
    moment = moment.astimezone(UTC).replace(second=0, microsecond=0)
    if granularity in (Granularity.HOUR, Granularity.DAY):
        moment = moment.replace(minute=0)
    if granularity == Granularity.DAY:
        moment = moment.replace(hour=0)
    return moment


def _moment(value: str | None, name: str, errors: dict) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        errors[name] = ValidationError(
            "Give a date and time in ISO 8601, e.g. 2026-12-01T00:00:00Z.", code="invalid"
        )
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_period(
    params,
    now: datetime | None = None,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Period:
    """Return the period that `from`, `to` and `granularity` ask for, or raise ValidationError.

    `start` and `end`, when given, are `from` and `to` already parsed (the API's schema).
    """
    errors: dict[str, ValidationError] = {}
    granularity = params.get("granularity") or Granularity.HOUR
    if granularity not in Granularity.values:
        errors["granularity"] = ValidationError(
            "Choose minute, hour or day.", code="invalid_choice"
        )
        granularity = Granularity.HOUR
    start = start or _moment(params.get("from"), "from", errors)
    end = end or _moment(params.get("to"), "to", errors)
    if errors:
        raise ValidationError(errors)
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if end is not None and end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    end = end or (now or timezone.now())
    start = start or end - DEFAULT_SPAN[granularity]
    if start >= end:
        raise field_error("from", "Must be before to.", "before_to")
    if end - start > LONGEST[granularity]:
        days = LONGEST[granularity].total_seconds() / 86400
        raise field_error(
            "from", f"Per {granularity}, ask for at most {days:g} days at a time.", "too_long"
        )
    return Period(start=start, end=end, granularity=granularity)


def series(token, period: Period) -> list[dict]:
    """Return one point per step: its start and the uses by outcome (zeros included)."""
    rows = (
        UsageCount.objects.filter(
            token=token,
            granularity=period.granularity,
            start__gte=floor(period.start, period.granularity),
            start__lt=period.end,
        )
        .values("start", "outcome")
        .annotate(total=Sum("count"))
    )
    found: dict[datetime, dict[str, int]] = {}
    for item in rows:
        found.setdefault(item["start"], {})[item["outcome"]] = item["total"]
    points = []
    for start in period.buckets():
        by_outcome = found.get(start, {})
        counts = {outcome: by_outcome.get(outcome, 0) for outcome in USE_OUTCOMES}
        points.append({"start": start, "total": sum(counts.values()), **counts})
    return points


def top_resources(token, period: Period, limit: int = 10) -> list[dict]:
    """Return the resources with the most uses in the period, most first."""
    return list(
        UsageCount.objects.filter(
            token=token,
            granularity=period.granularity,
            start__gte=floor(period.start, period.granularity),
            start__lt=period.end,
        )
        .values("resource")
        .annotate(total=Sum("count"))
        .order_by("-total", "resource")[:limit]
    )


def clients(token, kind: str, limit: int = 50) -> list[UsageClient]:
    """Return the IPs or user agents the token was used from, most recent first."""
    return list(UsageClient.objects.filter(token=token, kind=kind).order_by("-last_seen")[:limit])


def workspace_usage(tokens, since: datetime, limit: int = 5) -> dict[str, list]:
    """Return, of `tokens` (a queryset), the most used and the most refused since a day,
    and the active ones never used (no counted use and no recorded last use)."""
    totals = (
        UsageCount.objects.filter(
            token__in=tokens, granularity=Granularity.DAY, start__gte=floor(since, Granularity.DAY)
        )
        .values("token__public_id", "token__name")
        .annotate(total=Sum("count"), refused=Sum("count", filter=~Q(outcome="allowed")))
    )
    rows = [
        {
            "public_id": row["token__public_id"],
            "name": row["token__name"],
            "total": row["total"],
            "refused": row["refused"] or 0,
        }
        for row in totals
    ]
    top = sorted(rows, key=lambda row: (-row["total"], row["name"]))[:limit]
    refused = sorted(
        (row for row in rows if row["refused"]), key=lambda row: (-row["refused"], row["name"])
    )[:limit]
    never = list(
        tokens.filter(active_q(timezone.now()), last_used_at__isnull=True)
        .exclude(Exists(UsageCount.objects.filter(token=OuterRef("pk"))))
        .order_by("created_at")[:limit]
    )
    return {"top": top, "refused": refused, "never": never}
