"""Read a token's limits from its lookup row: one text column, parsed once per distinct value."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from gateway.limit_models import RATE_SECONDS, TokenLimits

# The limits' name in TokenPrincipal.extras.
LOOKUP_NAME = "gateway_limits"


@dataclass(frozen=True, slots=True)
class Limits:
    """A token's rate (requests per `rate_seconds`, `burst` at once) and quota; None when off."""

    rate: int | None = None
    rate_period: str = ""
    burst: int | None = None
    quota: int | None = None
    quota_period: str = ""

    @property
    def rate_seconds(self) -> int:
        """Return the length of the rate's period in seconds."""
        return RATE_SECONDS[self.rate_period]

    def rate_dict(self) -> dict | None:
        """Return the rate limit as JSON-ready data, or None."""
        if self.rate is None:
            return None
        return {"requests": self.rate, "per": self.rate_period, "burst": self.burst}

    def in_words(self) -> str:
        """Return the limits in plain words: "600 requests per minute (burst 600); 1,000 uses
        each month"; empty when there are none."""
        parts = []
        if self.rate is not None:
            parts.append(
                f"{self.rate:,} request{'s' if self.rate != 1 else ''} per {self.rate_period}"
                f" (burst {self.burst:,})"
            )
        if self.quota is not None:
            refill = "each month" if self.quota_period == "month" else "in total"
            parts.append(f"{self.quota:,} use{'s' if self.quota != 1 else ''} {refill}")
        return "; ".join(parts)

    def quota_dict(self) -> dict | None:
        """Return the quota as JSON-ready data (without its use), or None."""
        if self.quota is None:
            return None
        return {"uses": self.quota, "period": self.quota_period}


def lookup_expression() -> str:
    """Return the SQL that reads the token's limits as one text in the token lookup (or NULL)."""
    table = TokenLimits._meta.db_table
    # CAST and || mean the same in SQLite and PostgreSQL; NULLs become empty fields.
    fields = " || ' ' || ".join(
        f"COALESCE(CAST(l.{name} AS TEXT), '')"
        for name in ("rate", "rate_period", "burst", "quota", "quota_period")
    )
    return f"SELECT {fields} FROM {table} l WHERE l.token_id = t.id"  # noqa: S608


def _number(text: str) -> int | None:
    return int(text) if text else None


@lru_cache(maxsize=4096)
def parse(text: str | None) -> Limits | None:
    """Return the limits a lookup row carries, or None when the token has none."""
    if not text:
        return None
    rate, rate_period, burst, quota, quota_period = text.split(" ")
    limits = Limits(_number(rate), rate_period, _number(burst), _number(quota), quota_period)
    return limits if limits.rate is not None or limits.quota is not None else None


def of_row(row: TokenLimits | None) -> Limits | None:
    """Return the limits of a TokenLimits row (console, API), or None."""
    if row is None:
        return None
    return parse(
        " ".join(
            "" if value is None else str(value)
            for value in (row.rate, row.rate_period, row.burst, row.quota, row.quota_period)
        )
    )
