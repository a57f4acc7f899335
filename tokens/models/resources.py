"""Define resources: named things inside a workspace that a token may be limited to."""

from __future__ import annotations

from django.db import models

from accounts.text import validate_name, validate_text

__all__ = ["Resource"]


class Resource(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="resources"
    )
    name = models.CharField(max_length=100, validators=[validate_name])
    kind = models.CharField(
        max_length=50,
        blank=True,
        validators=[validate_name],
        help_text="What it is, e.g. database, application.",
    )
    description = models.CharField(max_length=255, blank=True, validators=[validate_text])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="resource_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
