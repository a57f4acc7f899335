"""Define API tokens. Only a digest and the last four characters of a secret are stored."""

from __future__ import annotations

import secrets as random_source
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.text import validate_name, validate_text
from tokens import secrets

PUBLIC_ID_LENGTH = 16
# The limits every door (forms, API schemas, the service's validation) reads from here.
NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 255


def new_public_id() -> str:
    """Return a random public id (not secret) that names a token in URLs and the API."""
    body = "".join(random_source.choice(secrets.BASE62) for _ in range(PUBLIC_ID_LENGTH))
    return f"tok_{body}"


class TokenKind(models.TextChoices):
    WORKSPACE = "workspace", "Workspace"
    PERSONAL = "personal", "Personal"


class RevokeReason(models.TextChoices):
    USER = "user", "Revoked by a user"
    ROTATION = "rotation", "Replaced by rotation"
    LEAK = "leak", "Leaked"
    MEMBER_REMOVED = "member_removed", "Owner left the workspace"
    ROLE_CHANGED = "role_changed", "Owner's role no longer allows its scopes"
    OPERATOR = "operator", "Revoked by an operator"
    EXPIRED = "expired", "Expired"
    OWNER_DEACTIVATED = "owner_deactivated", "Owner's account was deactivated"
    PARENT_REVOKED = "parent_revoked", "The token that made it was revoked"


class RotationGrace(models.TextChoices):
    """How long a rotated token keeps working beside its replacement."""

    NONE = "none", "No grace period: it stops now"
    HOUR = "1h", "1 hour"
    DAY = "1d", "1 day"
    WEEK = "7d", "7 days"

    @property
    def duration(self) -> timedelta:
        """Return how long the old token keeps working."""
        return _GRACE_DURATIONS[self]


_GRACE_DURATIONS = {
    RotationGrace.NONE: timedelta(0),
    RotationGrace.HOUR: timedelta(hours=1),
    RotationGrace.DAY: timedelta(days=1),
    RotationGrace.WEEK: timedelta(days=7),
}


class TokenStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


# The one definition of "active" (the token's own lifecycle): lifecycle_status in Python,
# active_q in SQL; tests/tokens/test_models.py checks that they agree on every case. A
# token whose owner leaves, is demoted or deactivated is revoked when that happens
# (tokens/receivers.py); tokens/auth.py checks the owner again on every request. "In
# grace" (active, end scheduled) is Token.in_grace in Python, in_grace_q in SQL.


def lifecycle_status(
    revoked_at: datetime | None, expires_at: datetime | None, now: datetime
) -> str:
    """Return active, expired or revoked for a token with these moments, as of `now`.

    A revoked_at in the future is a scheduled end (a rotation's grace period):
    the token is active until then. A token retired at or after the moment it
    expired (to free its name) counts as expired.
    """
    if (
        revoked_at is not None
        and revoked_at <= now
        and (expires_at is None or revoked_at < expires_at)
    ):
        return TokenStatus.REVOKED
    if expires_at is not None and expires_at <= now:
        return TokenStatus.EXPIRED
    return TokenStatus.ACTIVE


def active_q(now: datetime, prefix: str = "") -> Q:
    """Return the condition of tokens active at `now`; `prefix` reaches them through a
    relation (``"tokens__"`` from a resource)."""
    return (Q(**{f"{prefix}revoked_at__isnull": True}) | Q(**{f"{prefix}revoked_at__gt": now})) & (
        Q(**{f"{prefix}expires_at__isnull": True}) | Q(**{f"{prefix}expires_at__gt": now})
    )


def in_grace_q(now: datetime, prefix: str = "") -> Q:
    """Return the condition of tokens active at `now` whose end is scheduled (a rotation's
    grace period: a successor replaces them); see Token.in_grace."""
    return active_q(now, prefix) & Q(**{f"{prefix}revoked_at__gt": now})


def revoked_q(now: datetime) -> Q:
    """Return the condition of tokens revoked by `now`: before they expired (see
    lifecycle_status: one retired once expired counts as expired)."""
    return Q(revoked_at__lte=now) & (
        Q(expires_at__isnull=True) | Q(expires_at__gt=models.F("revoked_at"))
    )


def visible_q(*, user_id: int | None, sees_all: bool, prefix: str = "") -> Q:
    """Return the condition of tokens a member may list (see rules.sees_all_tokens).

    Admins and Managers see every token; Members see workspace tokens and their
    own personal tokens.
    """
    if sees_all:
        return Q()
    return Q(**{f"{prefix}kind": TokenKind.WORKSPACE}) | Q(**{f"{prefix}owner_id": user_id})


class TokenQuerySet(models.QuerySet["Token"]):
    def active(self, now: datetime | None = None) -> TokenQuerySet:
        """Return the tokens that authenticate now."""
        return self.filter(active_q(now or timezone.now()))

    def active_not_in_grace(self, now: datetime | None = None) -> TokenQuerySet:
        """Return the active tokens with no scheduled end: they work until they expire."""
        now = now or timezone.now()
        return self.filter(active_q(now)).exclude(in_grace_q(now))

    def expired(self, now: datetime | None = None) -> TokenQuerySet:
        """Return the tokens past their expiry that were not revoked before it."""
        now = now or timezone.now()
        return self.filter(expires_at__lte=now).filter(
            Q(revoked_at__isnull=True) | Q(revoked_at__gte=models.F("expires_at"))
        )

    def revoked(self, now: datetime | None = None) -> TokenQuerySet:
        """Return the tokens revoked (before they expired)."""
        return self.filter(revoked_q(now or timezone.now()))

    def ended(self, now: datetime | None = None) -> TokenQuerySet:
        """Return the tokens that no longer authenticate: expired or revoked."""
        return self.exclude(active_q(now or timezone.now()))

    def with_stored_copy(self) -> TokenQuerySet:
        """Return the tokens that keep an encrypted copy of their value (retrievable policy)."""
        return self.exclude(encrypted_secret="")

    def erase_copies(self) -> int:
        """Erase the stored copies of these tokens; return how many were erased."""
        return self.with_stored_copy().update(encrypted_secret="")

    def with_status(self, status: str, now: datetime | None = None) -> TokenQuerySet:
        """Return the tokens with `status` (active, expired, revoked, or all)."""
        return {
            TokenStatus.ACTIVE: self.active,
            TokenStatus.EXPIRED: self.expired,
            TokenStatus.REVOKED: self.revoked,
        }.get(status, lambda now: self)(now)

    def visible_to(self, *, workspace_id: int, user_id: int | None, sees_all: bool):
        """Return the workspace's tokens this member may list (see visible_q)."""
        return self.filter(visible_q(user_id=user_id, sees_all=sees_all), workspace_id=workspace_id)


class Token(models.Model):
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id, editable=False)
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="tokens"
    )
    kind = models.CharField(max_length=16, choices=TokenKind.choices)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="personal_tokens",
        help_text="The user a personal token acts as.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_by_token = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The token that created it through the API.",
    )
    name = models.CharField(max_length=NAME_MAX_LENGTH, validators=[validate_name])
    description = models.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, blank=True, validators=[validate_text]
    )
    prefix = models.CharField(max_length=16, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    last_four = models.CharField(max_length=4, editable=False)
    # Only under the workspace's "retrievable" reveal policy: the secret, Fernet-encrypted.
    encrypted_secret = models.TextField(blank=True, default="", editable=False)
    scopes = models.JSONField(default=list)
    resources = models.ManyToManyField("tokens.Resource", blank=True, related_name="tokens")
    allowed_ips = models.JSONField(
        default=list, blank=True, help_text="CIDR ranges; empty allows any client."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    last_used_user_agent = models.CharField(max_length=255, blank=True)
    # A revoked_at in the future is a scheduled end: a rotated token's grace period.
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoke_reason = models.CharField(max_length=32, choices=RevokeReason.choices, blank=True)
    rotated_from = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="rotated_to"
    )

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "name"],
                condition=Q(revoked_at__isnull=True),
                name="token_unique_active_name",
                violation_error_message="An active token already has this name.",
            ),
            models.CheckConstraint(
                condition=Q(kind=TokenKind.WORKSPACE, owner__isnull=True)
                | Q(kind=TokenKind.PERSONAL, owner__isnull=False),
                name="token_owner_matches_kind",
            ),
            models.CheckConstraint(condition=Q(kind__in=TokenKind.values), name="token_kind_valid"),
        ]
        indexes = [
            # The Tokens tab's page (newest first) and its count of active tokens, which
            # reads the two lifecycle dates from the index instead of every token's row.
            models.Index(
                fields=["workspace", "-created_at", "revoked_at", "expires_at"],
                name="token_workspace_recent",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def lifetime_days(self) -> int | None:
        """Return how many days the token was issued for, or None if it never expires."""
        if self.expires_at is None:
            return None
        return round((self.expires_at - self.created_at).total_seconds() / 86400)

    @property
    def creator_label(self) -> str:
        """Return who created the token: a person's email, "token <name>", or Keyward."""
        if self.created_by_id:
            return self.created_by.email
        if self.created_by_token_id:
            return f"token {self.created_by_token.name}"
        return "Keyward"

    @property
    def censored(self) -> str:
        """Return the token as the console shows it: ``kww_…a1B2``."""
        return secrets.censor(self.prefix, self.last_four)

    def status(self, now: datetime | None = None) -> str:
        """Return active, expired or revoked, as of `now`."""
        return lifecycle_status(self.revoked_at, self.expires_at, now or timezone.now())

    @property
    def is_active(self) -> bool:
        """Return whether the token authenticates now."""
        return self.status() == TokenStatus.ACTIVE

    def in_grace(self, now: datetime | None = None) -> bool:
        """Return whether the token is active with a scheduled end (see in_grace_q)."""
        return self.revoked_at is not None and self.status(now) == TokenStatus.ACTIVE

    @property
    def ends_at(self) -> datetime | None:
        """Return when an active token stops working: its expiry or its scheduled revocation."""
        ends = [moment for moment in (self.expires_at, self.revoked_at) if moment]
        return min(ends) if ends else None
