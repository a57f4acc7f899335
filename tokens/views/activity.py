"""A token's activity: every event about it or made with it, and its last use."""

from __future__ import annotations

from collections.abc import Callable

from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse

from accounts import query_params
from accounts.htmx import render_page
from accounts.models import AuditEvent
from accounts.permissions import workspace_view
from tokens import rules
from tokens.actors import Actor
from tokens.models import Token
from tokens.views.tokens import visible_token

PAGE_SIZE = 50
# Sections other apps add to the page (DESIGN §1: gateway's usage charts; tokens never
# imports them): each is called with (request, token, actor) and returns a context for
# its template (the "template" key), or None to show nothing.
_sections: list[Callable] = []


def register_activity_section(section: Callable) -> None:
    """Add a section to every token's activity page."""
    if section not in _sections:
        _sections.append(section)


def token_events(token: Token):
    """Return the events naming the token as target or actor, newest first."""
    return AuditEvent.objects.filter(workspace_id=token.workspace_id).filter(
        Q(target_type="token", target_id=token.public_id) | Q(actor_token_id=token.public_id)
    )


@workspace_view()
def token_activity(request: HttpRequest, public_id: str) -> HttpResponse:
    """List what happened to a token and what it did, to check it was not misused."""
    actor = Actor.member(request.membership)
    token = visible_token(request, public_id)
    events_shown = rules.may_see_events(actor, token)
    page = None
    if events_shown:
        page = Paginator(token_events(token), PAGE_SIZE).get_page(
            query_params.page_number(request.GET.get("page"))
        )
    context = {
        "nav": "settings",
        "tab": "tokens",
        "token": token,
        "page": page,
        "events_shown": events_shown,
        "hide_clients": not rules.may_read_audit(actor),
        # HTMX asks for the events table alone: the sections are not drawn, so not computed.
        "sections": []
        if request.htmx
        else [part for section in _sections if (part := section(request, token, actor))],
    }
    return render_page(request, "tokens/activity.html", context, partial="activity-table")
