"""Read the Audit log tab's filters from the query string."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from accounts import query_params


@dataclass(frozen=True)
class AuditFilters:
    actor: str = ""
    action: str = ""
    token: str = ""
    since: date | None = None
    until: date | None = None
    page: int = 1
    # What was ignored in the query, in words, for the log to say so.
    problems: tuple[str, ...] = ()

    @classmethod
    def from_query(cls, query: QueryDict) -> AuditFilters:
        """Return the filters in `query`; an unreadable date is ignored and named."""
        problems = []
        days = {
            parameter: query_params.filter_value(
                query, parameter, query_params.day, problems, "a date, YYYY-MM-DD"
            )
            for parameter in ("since", "until")
        }
        return cls(
            actor=query.get("actor", "").strip()[:255],
            action=query.get("action", "").strip()[:64],
            token=query.get("token", "").strip()[:64],
            page=query_params.page_number(query.get("page")),
            problems=tuple(problems),
            **days,
        )

    def apply(self, events: QuerySet) -> QuerySet:
        """Return `events` narrowed by these filters."""
        if self.actor:
            events = events.filter(
                Q(actor_label__icontains=self.actor) | Q(actor_token_id=self.actor)
            )
        if self.action:
            events = events.filter(action=self.action)
        if self.token:
            events = events.filter(
                Q(target_type="token", target_id=self.token) | Q(actor_token_id=self.token)
            )
        zone = timezone.get_current_timezone()
        if self.since:
            events = events.filter(created_at__gte=datetime.combine(self.since, time.min, zone))
        if self.until and self.until < date.max:  # the last representable day bounds nothing
            end = datetime.combine(self.until + timedelta(days=1), time.min, zone)
            events = events.filter(created_at__lt=end)
        return events

    def query_string(self, **changes) -> str:
        """Return these filters as a query string, with `changes` applied."""
        values = {
            "actor": self.actor,
            "action": self.action,
            "token": self.token,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        } | changes
        return urlencode({k: v for k, v in values.items() if v})
