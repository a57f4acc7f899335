"""Record the leak reports GitHub sent: what was found where, never the token's value."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

__all__ = ["LeakReport"]


class LeakReport(models.Model):
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    source = models.CharField(max_length=50, default="github")
    key_identifier = models.CharField(max_length=128, blank=True)
    reported = models.PositiveIntegerField(help_text="Entries in the report.")
    ours = models.PositiveIntegerField(help_text="Entries that are Keyward tokens.")
    revoked = models.PositiveIntegerField(help_text="Active tokens this report revoked.")
    # One entry per reported token: public id (ours only), type, url, source, label.
    entries = models.JSONField(default=list)
    duration_ms = models.FloatField(default=0)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"Leak report of {self.received_at:%Y-%m-%d %H:%M} ({self.ours} ours)"
