"""Define the second factors of sign-in: an authenticator app (TOTP) and recovery codes."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

__all__ = ["RecoveryCode", "TotpDevice"]


class TotpDevice(models.Model):
    """A user's authenticator app, stored once a first code from it matched (its set-up)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="totp_device"
    )
    # The RFC 6238 key, encrypted (accounts.signin.sealing): codes are computed from it.
    sealed_key = models.TextField()
    # The last time step whose code was accepted: that code, and older ones, are refused.
    last_used_step = models.BigIntegerField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "authenticator app"

    def __str__(self) -> str:
        return f"Authenticator app of {self.user_id}"


class RecoveryCodeQuerySet(models.QuerySet["RecoveryCode"]):
    def unused(self) -> RecoveryCodeQuerySet:
        """Return the codes not used yet."""
        return self.filter(used_at__isnull=True)


class RecoveryCode(models.Model):
    """One single-use recovery code, stored only as a keyed digest (accounts.signin.recovery)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recovery_codes"
    )
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = RecoveryCodeQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "digest"], name="recovery_code_unique_digest")
        ]

    def __str__(self) -> str:
        return f"Recovery code {self.pk} of {self.user_id}"
