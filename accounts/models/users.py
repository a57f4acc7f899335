"""Define the user model: people sign in with their email address."""

from __future__ import annotations

import unicodedata

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from accounts import signals
from accounts.text import validate_email_text, validate_name

__all__ = ["User", "UserManager", "UserQuerySet", "clean_email", "normalize_email"]


def normalize_email(email: str) -> str:
    """Return `email` trimmed and lower-cased, its domain NFKC-normalized: the one form we store.

    Mail servers read a domain through IDNA, which folds compatibility forms
    (a domain typed in full-width letters is the ASCII one), so we fold them too and
    one mailbox has one spelling. The local part is the receiving server's
    business and keeps its characters. This never refuses anything (sign-in
    looks up with it); validate_email_text refuses invisible characters.
    """
    local, at, domain = (email or "").strip().rpartition("@")
    if at:
        domain = unicodedata.normalize("NFKC", domain)
    return f"{local}{at}{domain}".lower()


def clean_email(email: str, *, field: str = "email") -> str:
    """Return `email` in its normal form, or raise a ValidationError keyed by `field`."""
    email = normalize_email(email)
    try:
        validate_email_text(email)
    except ValidationError as error:
        raise ValidationError({field: error}, code=error.code) from None
    return email


class UserQuerySet(models.QuerySet["User"]):
    def update(self, **kwargs) -> int:
        """Update the users; announce each one this deactivates (signals.user_deactivated)."""
        if kwargs.get("is_active", True) is not False:
            return super().update(**kwargs)
        with transaction.atomic():
            # NO KEY: a revocation committing an audit event by one of these users takes a
            # key-share lock on them, while this waits for that revocation's token.
            deactivated = list(self.filter(is_active=True).select_for_update(no_key=True))
            count = super().update(**kwargs)
            for user in deactivated:
                user.is_active = False
                signals.send_user_deactivated(user)
        return count


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields) -> User:
        """Create and return a user who signs in with `email`."""
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields) -> User:
        """Create and return an operator with every Django admin permission."""
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        """Return the user with this email, whatever its case."""
        return self.get(email=normalize_email(username or ""))


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField("email address", unique=True, validators=[validate_email_text])
    full_name = models.CharField(max_length=150, blank=True, validators=[validate_name])
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        "operator", default=False, help_text="May sign in to the Django admin."
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email=models.functions.Lower("email")),
                name="user_email_lowercase",
            )
        ]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs) -> None:
        """Save the user; announce a deactivation (signals.user_deactivated) after it."""
        update_fields = kwargs.get("update_fields")
        deactivating = (
            not self.is_active
            and self.pk is not None
            and (update_fields is None or "is_active" in update_fields)
            and type(self)._base_manager.filter(pk=self.pk, is_active=True).exists()
        )
        if not deactivating:
            super().save(*args, **kwargs)
            return
        with transaction.atomic():  # the account and its tokens change together
            super().save(*args, **kwargs)
            signals.send_user_deactivated(self)

    def clean(self) -> None:
        """Store the email in its normal form."""
        super().clean()
        self.email = normalize_email(self.email)

    @property
    def display_name(self) -> str:
        """Return the name to show, falling back to the email."""
        return self.full_name or self.email

    def get_full_name(self) -> str:
        """Return the user's full name, or the email where there is none."""
        return self.display_name

    def get_short_name(self) -> str:
        """Return the user's short name, the full name or the email."""
        return self.display_name
