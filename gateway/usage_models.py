"""Define the usage tables: counts per token and period, and the clients each token saw."""

from __future__ import annotations

from django.db import models

__all__ = ["Granularity", "UsageClient", "UsageCount", "UsageSettings"]


class Granularity(models.TextChoices):
    MINUTE = "minute", "Minute"
    HOUR = "hour", "Hour"
    DAY = "day", "Day"


class UsageCount(models.Model):
    """How many uses of a token, in one period, had one outcome on one resource."""

    token = models.ForeignKey("tokens.Token", on_delete=models.CASCADE, related_name="+")
    granularity = models.CharField(max_length=6, choices=Granularity.choices)
    start = models.DateTimeField()
    outcome = models.CharField(max_length=8)
    # The guarded service's resource name; empty for Keyward's own API.
    resource = models.CharField(max_length=150, blank=True, default="")
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token", "granularity", "start", "outcome", "resource"],
                name="gateway_usage_count_unique",
            )
        ]
        indexes = [models.Index(fields=["granularity", "start"], name="gateway_usage_period")]

    def __str__(self) -> str:
        return f"{self.count} {self.outcome} ({self.granularity} of {self.start:%Y-%m-%d %H:%M})"


class UsageClient(models.Model):
    """A client IP or user agent a token was used from: first and last seen, how often."""

    class Kind(models.TextChoices):
        IP = "ip", "IP address"
        USER_AGENT = "ua", "User agent"

    token = models.ForeignKey("tokens.Token", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=2, choices=Kind.choices)
    value = models.CharField(max_length=255)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token", "kind", "value"], name="gateway_usage_client_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.value} ({self.count})"


class UsageSettings(models.Model):
    """A workspace's choices about usage: whether a token's first use from a new IP is emailed."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="usage_settings"
    )
    email_on_new_ip = models.BooleanField(
        default=False,
        help_text="Email a token's owner (or creator) when it is first used from a new IP.",
    )

    class Meta:
        verbose_name_plural = "usage settings"

    def __str__(self) -> str:
        return f"Usage settings of {self.workspace}"
