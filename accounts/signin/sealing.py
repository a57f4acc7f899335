"""Encrypt the authenticator keys Keyward must read back to check a TOTP code.

The keys are encrypted with Fernet under a key derived from SECRET_KEY (then
each of SECRET_KEY_FALLBACKS for reading), so a copy of the database alone
does not let anyone compute a user's codes. Not tokens.vault: accounts never
imports tokens (DESIGN §1), and the vault's keys exist only where a workspace
chose the "retrievable" reveal policy, while anyone may set up an authenticator.
A device is sealed again with the current SECRET_KEY each time it is used, so
after a SECRET_KEY rotation the old key can leave SECRET_KEY_FALLBACKS once the
users have signed in; a device sealed only under a dropped key stops working.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.crypto import salted_hmac

_PURPOSE = "keyward.accounts.signin.sealing"


class Unsealable(Exception):
    """No current or fallback SECRET_KEY opens this sealed value."""


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return MultiFernet(
        [
            Fernet(
                base64.urlsafe_b64encode(
                    salted_hmac(_PURPOSE, "", secret=key, algorithm="sha256").digest()
                )
            )
            for key in keys
        ]
    )


def seal(value: bytes) -> str:
    """Return `value` encrypted under the current SECRET_KEY."""
    return _fernet().encrypt(value).decode()


def unseal(sealed: str) -> bytes:
    """Return the value in `sealed`, or raise Unsealable."""
    try:
        return _fernet().decrypt(sealed.encode())
    except InvalidToken:
        raise Unsealable("No SECRET_KEY opens this value.") from None


def reseal(sealed: str) -> str:
    """Return `sealed` encrypted again under the current SECRET_KEY, or raise Unsealable."""
    try:
        return _fernet().rotate(sealed.encode()).decode()
    except InvalidToken:
        raise Unsealable("No SECRET_KEY opens this value.") from None
