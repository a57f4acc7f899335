"""Define resources: named things inside a workspace that a token may be limited to."""

from __future__ import annotations

from django.db import models

__all__ = ["Resource"]


class Resource(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="resources"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(
        max_length=50, blank=True, help_text="What it is, e.g. database, application."
    )
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="resource_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
