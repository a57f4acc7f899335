"""Compute authenticator codes for tests, from RFC 4226 and RFC 6238, apart from accounts.signin.

Tests check Keyward's codes against these, so a mistake shared by both would
have to be made twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def hotp(key: bytes, counter: int, digits: int = 6) -> str:
    """Return RFC 4226's HOTP value: dynamic truncation of HMAC-SHA1(key, counter)."""
    mac = hmac.new(key, counter.to_bytes(8, "big"), hashlib.sha1).digest()
    offset = mac[19] & 0xF
    binary = (
        (mac[offset] & 0x7F) << 24 | mac[offset + 1] << 16 | mac[offset + 2] << 8 | mac[offset + 3]
    )
    return f"{binary % 10**digits:0{digits}d}"


def totp(key: bytes, unix_time: float | None = None, *, steps_off: int = 0, digits: int = 6) -> str:
    """Return RFC 6238's TOTP code (30 s steps from T0 = 0), `steps_off` steps away."""
    now = time.time() if unix_time is None else unix_time
    return hotp(key, int(now) // 30 + steps_off, digits)


def key_from_text(text: str) -> bytes:
    """Return the key an authenticator app reads from the base32 text shown for manual entry."""
    compact = text.replace(" ", "").upper()
    return base64.b32decode(compact + "=" * (-len(compact) % 8))


def enrol_totp(user) -> tuple[bytes, list[str]]:
    """Set up and confirm an authenticator for `user` through the services; return key and codes.

    The confirming code is the current step's, so a test that signs in next
    uses `totp(key, steps_off=1)`: the current one is spent.
    """
    from accounts.signin import factors

    sealed = factors.totp_setup_start(user=user)
    key = key_from_text(factors.totp_setup_details(user=user, sealed_key=sealed)["key_text"])
    codes = factors.totp_setup_confirm(user=user, sealed_key=sealed, code=totp(key))
    return key, codes
