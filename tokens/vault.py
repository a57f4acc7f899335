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
    """Return whether valid encryption keys are set, so the retrievable policy may be chosen."""
    return _fernet() is not None


def key_problem() -> str | None:
    """Describe what is wrong with the configured keys, or return None if they are usable."""
    for position, key in enumerate(settings.KEYWARD_TOKEN_ENCRYPTION_KEYS or (), start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            return (
                f"Key {position} of KEYWARD_TOKEN_ENCRYPTION_KEYS is not a Fernet key "
                "(32 bytes, urlsafe base64)."
            )
    return None


def _fernet() -> MultiFernet | None:
    keys = settings.KEYWARD_TOKEN_ENCRYPTION_KEYS
    if not keys:
        return None
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except (ValueError, TypeError):
        return None  # key_problem() says which key; the system check reports it


def encrypt(secret: str) -> str:
    """Return `secret` encrypted with the newest key."""
    fernet = _fernet()
    if fernet is None:
        raise ImproperlyConfigured("KEYWARD_TOKEN_ENCRYPTION_KEYS is empty or malformed.")
    return fernet.encrypt(secret.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """Return the secret in `ciphertext`, or raise SecretUnavailable."""
    if not ciphertext:
        raise SecretUnavailable("No copy of this token is stored.")
    try:
        return _usable_fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnavailable("No configured key decrypts this token's copy.") from None


def reencrypt(ciphertext: str) -> str:
    """Return `ciphertext` encrypted again with the newest key, or raise SecretUnavailable."""
    try:
        return _usable_fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretUnavailable("No configured key decrypts this token's copy.") from None


def _usable_fernet() -> MultiFernet:
    fernet = _fernet()
    if fernet is None:
        raise SecretUnavailable("Encryption keys are missing or malformed.")
    return fernet
