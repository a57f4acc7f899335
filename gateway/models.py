"""Define HTTP services: resources that the gateway check guards, their match rules, and the
version that tells every process when a workspace's rules changed."""

from __future__ import annotations

from django.db import models

from gateway.matching import HOST_MAX_LENGTH, PATH_PREFIX_MAX_LENGTH

__all__ = [
    "DEFAULT_METHOD_SCOPES",
    "SCOPE_LEVELS",
    "SLUG_MAX_LENGTH",
    "Service",
    "ServiceRule",
    "ServiceVersion",
    "scope_name",
]

SLUG_MAX_LENGTH = 50
# The level (scope suffix) each method needs unless a service says otherwise; any
# method not listed needs "write".
DEFAULT_METHOD_SCOPES = {"GET": "read", "HEAD": "read", "OPTIONS": "read"}
SCOPE_LEVELS = ("read", "write")


def scope_name(slug: str, level: str) -> str:
    """Return the name of a service's scope: <slug>:read or <slug>:write."""
    return f"{slug}:{level}"


def default_method_scopes() -> dict[str, str]:
    """Return a fresh copy of the default method → level mapping."""
    return dict(DEFAULT_METHOD_SCOPES)


class Service(models.Model):
    """A resource that is an HTTP service: requests matching its rules need its scopes."""

    resource = models.OneToOneField(
        "tokens.Resource", on_delete=models.CASCADE, related_name="http_service"
    )
    # The resource's workspace, kept here so that constraints and the rules' query need no join.
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="http_services"
    )
    slug = models.SlugField(
        max_length=SLUG_MAX_LENGTH,
        help_text="Names the scopes: <slug>:read and <slug>:write.",
    )
    method_scopes = models.JSONField(
        default=default_method_scopes,
        help_text="HTTP method → read or write; methods not listed need write.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "slug"], name="gateway_service_slug"),
        ]

    def __str__(self) -> str:
        return self.slug

    def scope(self, level: str) -> str:
        """Return the scope name of `level` (read or write) for this service."""
        return scope_name(self.slug, level)


class ServiceRule(models.Model):
    """One place a service answers: a host (or *.domain) and a path prefix."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="rules")
    workspace = models.ForeignKey("accounts.Workspace", on_delete=models.CASCADE, related_name="+")
    host = models.CharField(max_length=HOST_MAX_LENGTH)
    path_prefix = models.CharField(max_length=PATH_PREFIX_MAX_LENGTH, default="/")

    class Meta:
        ordering = ["host", "path_prefix"]
        constraints = [
            # Two services of a workspace on the same host and prefix: which one guards it?
            models.UniqueConstraint(
                fields=["workspace", "host", "path_prefix"], name="gateway_rule_unique_match"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.host}{self.path_prefix}"


class ServiceVersion(models.Model):
    """A random number that changes with every change to a workspace's services.

    The token lookup reads it (one indexed subquery, no extra round trip); each
    process keeps the workspace's compiled rules until it differs. Random, not a
    counter: a workspace deleted and re-created under the same id starts afresh.
    """

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    version = models.BigIntegerField()

    def __str__(self) -> str:
        return f"{self.workspace_id}: {self.version}"


# Per-token limits live in their own module; imported here so Django finds the models.
from gateway.limit_models import LimitPolicy, TokenLimits  # noqa: E402

__all__ += ["LimitPolicy", "TokenLimits"]

from gateway.usage_models import (  # noqa: E402, F401
    Granularity,
    UsageClient,
    UsageCount,
    UsageSettings,
)
