"""Define a workspace's token policies."""

from __future__ import annotations

from django.db import models

__all__ = ["RevealPolicy", "WorkspacePolicy"]


class RevealPolicy(models.TextChoices):
    SHOW_ONCE = "show_once", "Show once"
    RETRIEVABLE = "retrievable", "Retrievable"


class WorkspacePolicy(models.Model):
    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="token_policy"
    )
    max_lifetime_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Longest a token may live; empty for no limit."
    )
    allow_never_expiring = models.BooleanField(
        default=True, help_text="Tokens may be created without an expiry date."
    )
    members_may_create_personal = models.BooleanField(
        default=True, help_text="Members may create personal tokens for themselves."
    )
    reveal_policy = models.CharField(
        max_length=16, choices=RevealPolicy.choices, default=RevealPolicy.SHOW_ONCE
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "workspace policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(max_lifetime_days__isnull=True)
                | models.Q(max_lifetime_days__gte=1),
                name="policy_lifetime_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"Token policy of {self.workspace}"

    @property
    def never_expiring_allowed(self) -> bool:
        """Return whether a token may have no expiry date under this policy."""
        return self.allow_never_expiring and self.max_lifetime_days is None
