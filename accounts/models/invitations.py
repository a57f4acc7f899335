"""Define invitations to join a workspace."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.roles import Role
from accounts.text import validate_email_text

__all__ = ["Invitation", "InvitationQuerySet"]


def new_invitation_key() -> str:
    """Return a fresh random key; changing it invalidates earlier links."""
    return secrets.token_urlsafe(24)


class InvitationQuerySet(models.QuerySet["Invitation"]):
    def pending(self) -> InvitationQuerySet:
        """Return the invitations neither accepted nor cancelled."""
        return self.filter(accepted_at__isnull=True, cancelled_at__isnull=True)


class Invitation(models.Model):
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(validators=[validate_email_text])
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    key = models.CharField(max_length=64, default=new_invitation_key, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=Q(accepted_at__isnull=True, cancelled_at__isnull=True),
                name="invitation_one_pending_per_email",
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="invitation_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.workspace}"

    @property
    def expires_at(self):
        """Return when the link sent last stops working."""
        return self.sent_at + timedelta(days=settings.KEYWARD_INVITATION_MAX_AGE_DAYS)

    @property
    def is_pending(self) -> bool:
        """Return whether the invitation can still be accepted or cancelled."""
        return self.accepted_at is None and self.cancelled_at is None

    @property
    def is_expired(self) -> bool:
        """Return whether the link sent last is too old to accept."""
        return timezone.now() >= self.expires_at
