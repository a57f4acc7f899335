"""Define a workspace's single sign-on settings: required SSO, JIT membership, break-glass."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models.workspaces import Workspace
from accounts.roles import Role

__all__ = ["JIT_ROLES", "WorkspaceSingleSignOn"]

# Roles a person may get by just-in-time membership: never Admin.
JIT_ROLES = [(Role.MEMBER.value, Role.MEMBER.label), (Role.MANAGER.value, Role.MANAGER.label)]


class WorkspaceSingleSignOn(models.Model):
    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="single_sign_on"
    )
    required = models.BooleanField("Members must sign in with SSO", default=False)
    jit_enabled = models.BooleanField("Just-in-time membership", default=False)
    # Lower-case email domains whose people join on their SSO sign-in.
    jit_domains = models.JSONField(default=list, blank=True)
    jit_role = models.CharField(
        "Role of people who join", max_length=16, choices=JIT_ROLES, default=Role.MEMBER
    )
    # The one Admin who may still sign in with a password while SSO is required.
    break_glass_admin = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "single sign-on settings"
        verbose_name_plural = "single sign-on settings"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(jit_role__in=[value for value, _ in JIT_ROLES]),
                name="sso_jit_role_never_admin",
            ),
        ]

    def __str__(self) -> str:
        return f"Single sign-on of {self.workspace}"

    def admits_domain(self, email: str) -> bool:
        """Return whether just-in-time membership takes the person with `email`."""
        domain = email.rpartition("@")[2].lower()
        return self.jit_enabled and bool(domain) and domain in self.jit_domains
