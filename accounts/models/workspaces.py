"""Define workspaces and the memberships that give people a role in them."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.console_urls import console_urls
from accounts.roles import Role
from accounts.text import validate_name

__all__ = ["Membership", "MembershipQuerySet", "TwoFactorPolicy", "Workspace"]


class TwoFactorPolicy(models.TextChoices):
    """Whose membership of a workspace needs two-factor authentication before they may use it."""

    OFF = "off", "Not required"
    ADMINS_AND_MANAGERS = "admins_and_managers", "Admins and Managers"
    EVERYONE = "everyone", "Everyone"

    def covers(self, role: Role | str) -> bool:
        """Return whether this policy asks `role` for two-factor authentication."""
        if self is TwoFactorPolicy.EVERYONE:
            return True
        return self is TwoFactorPolicy.ADMINS_AND_MANAGERS and Role(role).at_least(Role.MANAGER)


class Workspace(models.Model):
    name = models.CharField(max_length=100, validators=[validate_name])
    slug = models.SlugField(max_length=50, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Kept here, not with the token policies, so that every workspace view reads it with the
    # membership it resolves anyway (accounts.permissions.workspace_view): no extra query.
    two_factor_policy = models.CharField(
        "require two-factor authentication",
        max_length=24,
        choices=TwoFactorPolicy.choices,
        default=TwoFactorPolicy.OFF,
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(two_factor_policy__in=TwoFactorPolicy.values),
                name="workspace_two_factor_policy_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return console_urls(self.slug)["overview"]

    @property
    def two_factor_policy_enum(self) -> TwoFactorPolicy:
        """Return the two-factor policy as a `TwoFactorPolicy`, which knows whom it covers."""
        return TwoFactorPolicy(self.two_factor_policy)


class MembershipQuerySet(models.QuerySet["Membership"]):
    def admins(self) -> MembershipQuerySet:
        """Return the memberships with the Admin role."""
        return self.filter(role=Role.ADMIN)


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField("joined", auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["workspace", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "workspace"], name="membership_unique_per_user"
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=Role.values), name="membership_role_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.get_role_display()})"

    @property
    def role_enum(self) -> Role:
        """Return the role as a `Role`, which knows its rank."""
        return Role(self.role)

    @property
    def two_factor_required(self) -> bool:
        """Return whether the workspace's policy asks this member for two-factor authentication."""
        return self.workspace.two_factor_policy_enum.covers(self.role)
