"""Read the Tokens tab's filters from the query string."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from accounts import query_params
from tokens.models import TokenKind, TokenQuerySet, TokenStatus

STATUSES = [
    (TokenStatus.ACTIVE, "Active"),
    (TokenStatus.EXPIRED, "Expired"),
    (TokenStatus.REVOKED, "Revoked"),
    ("all", "All"),
]


# The day-count filters: query parameter -> field.
DAY_FILTERS = {
    "expiring": "expiring_within",
    "unused": "unused_for",
    "revoked_within": "revoked_within",
}


@dataclass(frozen=True)
class TokenFilters:
    status: str = TokenStatus.ACTIVE
    kind: str = ""
    q: str = ""
    expiring_within: int | None = None
    unused_for: int | None = None
    revoked_within: int | None = None
    page: int = 1
    # What was ignored in the query, in words, for the list to say so.
    problems: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: QueryDict) -> TokenFilters:
        """Return the filters in `query`; a value that makes no sense is ignored and named."""
        problems = []
        status = query.get("status") or TokenStatus.ACTIVE
        if status not in dict(STATUSES):
            problems.append("The status filter was ignored: choose one from the list.")
            status = TokenStatus.ACTIVE
        kind = query.get("kind", "")
        if kind and kind not in TokenKind.values:
            problems.append("The kind filter was ignored: choose workspace or personal.")
            kind = ""
        day_counts = {
            field: query_params.filter_value(
                query, parameter, query_params.days, problems, query_params.DAYS_WANTED
            )
            for parameter, field in DAY_FILTERS.items()
        }
        return cls(
            status=status,
            kind=kind,
            q=query.get("q", "").strip()[:100],
            page=query_params.page_number(query.get("page")),
            problems=tuple(problems),
            **day_counts,
        )

    def apply(self, tokens: TokenQuerySet) -> TokenQuerySet:
        """Return `tokens` narrowed by these filters."""
        now = timezone.now()
        tokens = tokens.with_status(self.status, now)
        if self.kind:
            tokens = tokens.filter(kind=self.kind)
        if self.q:
            tokens = tokens.filter(name__icontains=self.q)
        if self.expiring_within:
            tokens = tokens.filter(expires_at__lte=now + timedelta(days=self.expiring_within))
        if self.unused_for:
            since = now - timedelta(days=self.unused_for)
            tokens = tokens.filter(
                Q(last_used_at__lt=since) | Q(last_used_at__isnull=True, created_at__lt=since)
            )
        if self.revoked_within:
            tokens = tokens.filter(revoked_at__gte=now - timedelta(days=self.revoked_within))
        return tokens

    @property
    def special(self) -> str:
        """Return the overview filter in force, in words, or an empty string."""
        if self.expiring_within:
            return f"expiring within {self.expiring_within} days"
        if self.unused_for:
            return f"unused for {self.unused_for} days"
        if self.revoked_within:
            return f"revoked in the last {self.revoked_within} days"
        return ""

    def query_string(self, **changes) -> str:
        """Return these filters as a query string, with `changes` applied."""
        values = {
            "status": self.status,
            "kind": self.kind,
            "q": self.q,
            "expiring": self.expiring_within or "",
            "unused": self.unused_for or "",
            "revoked_within": self.revoked_within or "",
        } | changes
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})
