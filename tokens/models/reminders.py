"""Record the expiry reminders already sent, so that each goes out once.

A row is written when a run of the reminder job claims the reminder (`sent_at`),
before its email is queued; `emailed_at` once the email went out, so that a task
run again after its worker died skips the emails it had already sent.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

__all__ = ["ExpiryReminder"]


class ExpiryReminder(models.Model):
    token = models.ForeignKey("tokens.Token", on_delete=models.CASCADE, related_name="reminders")
    days = models.PositiveSmallIntegerField(help_text="The reminder sent this many days ahead.")
    sent_at = models.DateTimeField(default=timezone.now)
    emailed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its email went out; empty while it waits in the queue, and for "
        "reminders recorded without an email (nobody to write to, or a more urgent one sent).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "days"], name="reminder_once_per_threshold"),
        ]

    def __str__(self) -> str:
        return f"{self.days}-day reminder for {self.token_id}"
