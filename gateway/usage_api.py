"""GET /api/v1/tokens/{id}/usage: a token's uses over time by outcome (scope tokens:read)."""

from datetime import datetime
from typing import Annotated, Literal

from ninja import Query, Router, Schema
from pydantic import BeforeValidator

from gateway import usage_queries
from tokens.api import ERRORS, _token, require_scope

router = Router(tags=["tokens"])


def _iso_only(value):
    """Refuse what pydantic would read as a Unix timestamp: the schema says an ISO date-time."""
    if value is None or isinstance(value, datetime):
        return value
    text = str(value).strip()
    if len(text) < 10 or not (text[:4].isdigit() and text[4] == "-"):
        raise ValueError("Give a date and time in ISO 8601, e.g. 2026-12-01T00:00:00Z.")
    return value


Moment = Annotated[datetime | None, BeforeValidator(_iso_only)]


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
    start: Annotated[Moment, Query(None, alias="from", description="Default: to - 24 h")] = None,
    end: Annotated[Moment, Query(None, alias="to", description="Default: now")] = None,
    granularity: Annotated[Literal["minute", "hour", "day"], Query("hour")] = "hour",
):
    """Return the token's uses per minute, hour or day between `from` and `to`, by outcome.

    `granularity` is minute (at most 48 h), hour (90 days, the default, over the
    last 24 h) or day; `from` and `to` are ISO 8601 date-times.
    """
    token = _token(request, token_id)
    period = usage_queries.parse_period({"granularity": granularity}, start=start, end=end)
    return {
        "token": token.public_id,
        "granularity": period.granularity,
        "start": period.start,
        "end": period.end,
        "points": usage_queries.series(token, period),
    }
