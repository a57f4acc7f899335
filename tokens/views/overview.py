"""The tokens panel of a workspace's overview page."""

from __future__ import annotations

from django.http import HttpRequest

from accounts.overview import register_overview_panel
from tokens import queries
from tokens.actors import Actor


@register_overview_panel
def tokens_panel(request: HttpRequest) -> dict:
    """Return the token counts and recent token events for the overview."""
    actor = Actor.member(request.membership)
    return {
        "template": "tokens/overview_panel.html",
        "counts": queries.token_counts(actor, request.workspace),
        "events": queries.recent_token_events(actor, request.workspace),
        "window_days": queries.WINDOW_DAYS,
        "expiring_days": queries.EXPIRING_DAYS,
    }
