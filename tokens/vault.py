"""Encrypt and decrypt the stored copies of secrets kept under the "retrievable" policy.

Keys come from KEYWARD_TOKEN_ENCRYPTION_KEYS, newest first: MultiFernet encrypts
with the first and decrypts with any, so a new key can be put in front of the
old ones and the copies re-encrypted before the old key is dropped.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnavailable(Exception):
    """The stored copy cannot be decrypted (its key is gone) or there is none."""


def is_configured() -> bool:
    """Return whether encryption keys are set, so the retrievable policy may be chosen."""
    return bool(settings.KEYWARD_TOKEN_ENCRYPTION_KEYS)


def _fernet() -> MultiFernet:
    keys = settings.KEYWARD_TOKEN_ENCRYPTION_KEYS
    if not keys:
        raise ImproperlyConfigured("KEYWARD_TOKEN_ENCRYPTION_KEYS is empty.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError) as error:
        raise ImproperlyConfigured(
            "KEYWARD_TOKEN_ENCRYPTION_KEYS must hold Fernet keys (32 bytes, urlsafe base64)."
        ) from error


def encrypt(secret: str) -> str:
    """Return `secret` encrypted with the newest key."""
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Return the secret in `ciphertext`, or raise SecretUnavailable."""
    if not ciphertext:
        raise SecretUnavailable("No copy of this token is stored.")
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnavailable("No configured key decrypts this token's copy.") from None


def reencrypt(ciphertext: str) -> str:
    """Return `ciphertext` encrypted again with the newest key, or raise SecretUnavailable."""
    try:
        return _fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnavailable("No configured key decrypts this token's copy.") from None
