"""Read what the console shows: token counts and recent token events."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import AuditEvent, Workspace
from tokens import rules
from tokens.actors import Actor
from tokens.models import active_q, revoked_q
from tokens.services import tokens_visible_to

WINDOW_DAYS = 30
EXPIRING_DAYS = 7


def token_counts(actor: Actor, workspace: Workspace) -> dict[str, int]:
    """Return, in one query, the counts the overview shows for tokens the actor may see."""
    now = timezone.now()
    window = now - timedelta(days=WINDOW_DAYS)
    active = active_q(now)
    return tokens_visible_to(actor, workspace).aggregate(
        active=Count("pk", filter=active),
        expiring=Count(
            "pk", filter=active & Q(expires_at__lte=now + timedelta(days=EXPIRING_DAYS))
        ),
        unused=Count(
            "pk",
            filter=active
            & (Q(last_used_at__lt=window) | Q(last_used_at__isnull=True, created_at__lt=window)),
        ),
        revoked=Count("pk", filter=revoked_q(now) & Q(revoked_at__gte=window)),
    )


def recent_token_events(actor: Actor, workspace: Workspace, limit: int = 10):
    """Return the workspace's latest token events the actor may see."""
    events = AuditEvent.objects.filter(workspace=workspace, action__startswith="token.")
    if not rules.sees_all_tokens(actor):
        events = events.filter(Q(details__kind="workspace") | Q(actor_user_id=actor.user_id))
    return events[:limit]
