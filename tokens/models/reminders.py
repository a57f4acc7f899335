"""Record the expiry reminders already sent, so that each goes out once."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

__all__ = ["ExpiryReminder"]


class ExpiryReminder(models.Model):
    token = models.ForeignKey("tokens.Token", on_delete=models.CASCADE, related_name="reminders")
    days = models.PositiveSmallIntegerField(help_text="The reminder sent this many days ahead.")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "days"], name="reminder_once_per_threshold"),
        ]

    def __str__(self) -> str:
        return f"{self.days}-day reminder for {self.token_id}"
