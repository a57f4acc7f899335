"""Define passkeys: WebAuthn credentials a user signs in with."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.text import validate_name

__all__ = ["Passkey", "PasskeyQuerySet"]


class PasskeyQuerySet(models.QuerySet["Passkey"]):
    def of(self, user) -> PasskeyQuerySet:
        """Return `user`'s passkeys, oldest first."""
        return self.filter(user=user).order_by("created_at", "pk")


class Passkey(models.Model):
    """A public-key credential registered by a user's authenticator (a passkey or security key).

    Only the public key is stored: the private key never leaves the authenticator.
    `user_handle` is the opaque id the authenticator keeps for the account (the
    same for all of a user's passkeys); `sign_count` is the authenticator's
    counter, which must grow when it is not zero (a clone repeats old counts).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys"
    )
    name = models.CharField(max_length=100, validators=[validate_name])
    credential_id = models.BinaryField(max_length=1023, unique=True)
    public_key = models.BinaryField()
    user_handle = models.BinaryField(max_length=64)
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    discoverable = models.BooleanField(
        default=False, help_text="The authenticator keeps the account, so it can sign in alone."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = PasskeyQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.name
