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


# Reminders per task: each task sends its emails on one connection to the mail server.
BATCH_SIZE = 100


@dataclass
class RemindersSent:
    """What a run of the reminder job did: which tokens it reminded, which it could not."""

    claimed: list[str] = field(default_factory=list)  # the tokens' public ids
    failed: list[str] = field(default_factory=list)

    @property
    def reminded(self) -> int:
        """Return how many tokens were reminded: claimed, and not failed since."""
        return len(set(self.claimed) - set(self.failed))


def _claim(token: Token, due: list[int]) -> bool:
    """Record the token's due reminders; return False if another run claimed the most urgent."""
    urgent, *skipped = due
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
    return True


def _released(claims: list[tuple[Token, int]]) -> list[str]:
    """Return the public ids of the tokens whose claim the email task released (it failed)."""
    kept = set(
        ExpiryReminder.objects.filter(
            token__in=[token for token, _ in claims], days__in={days for _, days in claims}
        ).values_list("token_id", "days")
    )
    return [token.public_id for token, days in claims if (token.pk, days) not in kept]


def _remind_batch(batch: list[tuple[Token, list[int]]], now: datetime, run: RemindersSent) -> None:
    """Claim the batch's most urgent reminders and queue one task that emails them.

    One transaction: the task is sent only once its claims commit (or, queued in
    the database, commits with them). One token that cannot be claimed is logged
    and left out; the others go on.
    """
    claims: list[tuple[Token, int]] = []
    with transaction.atomic():
        for token, due in batch:
            try:
                if _claim(token, due):
                    claims.append((token, due[0]))
            except Exception:
                logger.exception("Could not record the expiry reminder of %s.", token.public_id)
                run.failed.append(token.public_id)
        if not claims:
            return
        notifications.notify_tokens_expiring(
            [(token, _days_left(token, now, days), days) for token, days in claims],
            # The email task releases each claim itself, so that the next run tries again.
            on_failure=lambda: run.failed.extend(_released(claims)),
        )
        run.claimed.extend(token.public_id for token, _ in claims)


def expiry_reminders_send(now: datetime | None = None) -> RemindersSent:
    """Send each token's due expiry reminder once; return which were sent and which failed.

    Thresholds come from KEYWARD_EXPIRY_REMINDER_DAYS. A token owed several
    reminders at once (the job did not run for a while) gets only the most
    urgent one; the others are recorded too, so that they never arrive late.
    The reminder is recorded before it is sent and sent only by the run that
    inserted the record, so overlapping runs send it once. Reminders go in
    batches of BATCH_SIZE tokens, one task (one connection to the mail server)
    per batch, one email per token. One token that fails (a bad address, a
    header the mail server refuses) is logged and the others are still
    reminded; its reminder is released and tried again on the next run.

    With tasks run inline (the default), `failed` lists the reminders whose
    email failed. With KEYWARD_TASKS=database the emails are sent by the worker
    after this returns, so `failed` lists only the reminders that could not be
    queued (their claims roll back with their batch); an email that fails in
    the worker is logged there, its task result is failed, and its claim is
    released, so that the next run reminds again.
    """
    now = now or timezone.now()
    thresholds = sorted(set(settings.KEYWARD_EXPIRY_REMINDER_DAYS))
    run = RemindersSent()
    due = list(_due_thresholds(now, thresholds).items())
    for start in range(0, len(due), BATCH_SIZE):
        batch = due[start : start + BATCH_SIZE]
        try:
            _remind_batch(batch, now, run)
        except Exception:
            public_ids = [token.public_id for token, _ in batch]
            logger.exception("Could not queue the expiry reminders of %s.", ", ".join(public_ids))
            run.failed.extend(p for p in public_ids if p not in run.failed)
    return run
