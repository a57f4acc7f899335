"""GET /api/v1/tokens/{id}/usage: a token's uses over time by outcome (scope tokens:read)."""

from __future__ import annotations

from datetime import datetime

from ninja import Query, Router, Schema

from gateway import usage_queries
from tokens.api import ERRORS, _token, require_scope

router = Router(tags=["tokens"])


class UsagePointOut(Schema):
    start: datetime
    total: int
    allowed: int
    scope: int
    resource: int
    ip: int
    limit: int
    invalid: int


class UsageOut(Schema):
    token: str
    granularity: str
    start: datetime
    end: datetime
    points: list[UsagePointOut]


@router.get("/tokens/{token_id}/usage", response={200: UsageOut, **ERRORS})
@require_scope("tokens:read")
def token_usage(
    request,
    token_id: str,
    start: str | None = Query(None, alias="from", description="ISO 8601; default: to - 24 h"),
    end: str | None = Query(None, alias="to", description="ISO 8601; default: now"),
    granularity: str | None = Query(None, description="minute, hour (default) or day"),
):
    """Return the token's uses per minute, hour or day between `from` and `to`, by outcome.

    `granularity` is minute (at most 48 h), hour (90 days, the default, over the
    last 24 h) or day; `from` and `to` are ISO 8601 date-times.
    """
    token = _token(request, token_id)
    period = usage_queries.parse_period({"from": start, "to": end, "granularity": granularity})
    return {
        "token": token.public_id,
        "granularity": period.granularity,
        "start": period.start,
        "end": period.end,
        "points": usage_queries.series(token, period),
    }
