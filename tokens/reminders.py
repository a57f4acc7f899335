"""Remind people that their tokens expire soon, once per threshold (a cron job)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tokens import notifications
from tokens.models import ExpiryReminder, Token


def _due_thresholds(now: datetime, thresholds: list[int]) -> dict[Token, list[int]]:
    """Return the tokens owed a reminder, each with the thresholds it is owed, most urgent first.

    A token is owed the N-day reminder when it is active and not scheduled for
    revocation (a rotated token in its grace period is being replaced), expires
    within N days, lived longer than N days, and was not reminded for N yet.
    One query per threshold, whatever the number of tokens.
    """
    owed: dict[int, tuple[Token, list[int]]] = {}
    for days in thresholds:
        window = timedelta(days=days)
        tokens = (
            Token.objects.filter(
                revoked_at__isnull=True, expires_at__gt=now, expires_at__lte=now + window
            )
            .filter(expires_at__gt=F("created_at") + window)
            .exclude(reminders__days=days)
            .select_related("workspace", "owner", "created_by")
            .order_by("expires_at", "pk")
        )
        for token in tokens:
            owed.setdefault(token.pk, (token, []))[1].append(days)
    return {token: sorted(days) for token, days in owed.values()}


def _days_left(token: Token, now: datetime, threshold: int) -> int:
    """Return the whole days until the token expires, for the email: 1 to `threshold`."""
    left = round((token.expires_at - now) / timedelta(days=1))
    return max(1, min(threshold, left))


def expiry_reminders_send(now: datetime | None = None) -> int:
    """Send each token's due expiry reminder once and return how many tokens were reminded.

    Thresholds come from KEYWARD_EXPIRY_REMINDER_DAYS. A token owed several
    reminders at once (the job did not run for a while) gets only the most
    urgent one; the others are recorded too, so that they never arrive late.
    The reminder is recorded before it is sent and sent only by the run that
    inserted the record, so overlapping runs send it once.
    """
    now = now or timezone.now()
    thresholds = sorted(set(settings.KEYWARD_EXPIRY_REMINDER_DAYS))
    reminded = 0
    for token, due in _due_thresholds(now, thresholds).items():
        urgent, *skipped = due
        # One transaction per token: its email goes out when its record commits.
        with transaction.atomic():
            ExpiryReminder.objects.bulk_create(
                [ExpiryReminder(token=token, days=days) for days in skipped],
                ignore_conflicts=True,
            )
            try:
                with transaction.atomic():
                    ExpiryReminder.objects.create(token=token, days=urgent)
            except IntegrityError:  # another run claimed this reminder
                continue
            notifications.notify_token_expiring(token, _days_left(token, now, urgent))
        reminded += 1
    return reminded
