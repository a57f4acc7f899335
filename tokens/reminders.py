"""Remind people that their tokens expire soon, once per threshold (a cron job)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from tokens import notifications
from tokens.models import ExpiryReminder, Token

logger = logging.getLogger("keyward.tokens.reminders")


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
            Token.objects.active_not_in_grace(now)
            .filter(expires_at__lte=now + window, expires_at__gt=F("created_at") + window)
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


@dataclass
class RemindersSent:
    """What a run of the reminder job did: how many tokens it reminded, which it could not."""

    reminded: int = 0
    failed: list[str] = field(default_factory=list)  # the tokens' public ids


def _remind(token: Token, due: list[int], now: datetime, run: RemindersSent) -> bool:
    """Claim and send the token's most urgent reminder; return False if another run claimed it."""
    urgent, *skipped = due

    def failed() -> None:
        # The email task releases its claim itself, so that the next run tries again.
        run.failed.append(token.public_id)

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
            return False
        notifications.notify_token_expiring(
            token, _days_left(token, now, urgent), threshold=urgent, on_failure=failed
        )
    return True


def expiry_reminders_send(now: datetime | None = None) -> RemindersSent:
    """Send each token's due expiry reminder once; return how many were sent and which failed.

    Thresholds come from KEYWARD_EXPIRY_REMINDER_DAYS. A token owed several
    reminders at once (the job did not run for a while) gets only the most
    urgent one; the others are recorded too, so that they never arrive late.
    The reminder is recorded before it is sent and sent only by the run that
    inserted the record, so overlapping runs send it once. One token that
    fails (a bad address, a header the mail server refuses) is logged and the
    others are still reminded; its reminder is tried again on the next run.

    With tasks run inline (the default), `failed` lists the reminders whose
    email failed. With KEYWARD_TASKS=database the emails are sent by the worker
    after this returns, so `failed` lists only the reminders that could not be
    queued (their claim rolls back with them); an email that fails in the
    worker is logged there, its task result is failed, and its claim is
    released, so that the next run reminds again.
    """
    now = now or timezone.now()
    thresholds = sorted(set(settings.KEYWARD_EXPIRY_REMINDER_DAYS))
    run = RemindersSent()
    for token, due in _due_thresholds(now, thresholds).items():
        try:
            claimed = _remind(token, due, now, run)
        except Exception:
            logger.exception("Could not send the expiry reminder of token %s.", token.public_id)
            run.failed.append(token.public_id)
            continue
        if claimed and token.public_id not in run.failed:
            run.reminded += 1
    return run
