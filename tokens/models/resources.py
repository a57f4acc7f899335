"""Define resources: named things inside a workspace that a token may be limited to."""

from __future__ import annotations

from django.db import models

from accounts.text import validate_name, validate_text

__all__ = [
    "RESOURCE_DESCRIPTION_MAX_LENGTH",
    "RESOURCE_KIND_MAX_LENGTH",
    "RESOURCE_NAME_MAX_LENGTH",
    "Resource",
]

# The limits every door (forms, the service's validation) reads from here.
RESOURCE_NAME_MAX_LENGTH = 100
RESOURCE_KIND_MAX_LENGTH = 50
RESOURCE_DESCRIPTION_MAX_LENGTH = 255


class Resource(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="resources"
    )
    name = models.CharField(max_length=RESOURCE_NAME_MAX_LENGTH, validators=[validate_name])
    kind = models.CharField(
        max_length=RESOURCE_KIND_MAX_LENGTH,
        blank=True,
        validators=[validate_name],
        help_text="What it is, e.g. database, application.",
    )
    description = models.CharField(
        max_length=RESOURCE_DESCRIPTION_MAX_LENGTH, blank=True, validators=[validate_text]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="resource_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name
