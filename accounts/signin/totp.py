"""Compute and check time-based one-time passwords (RFC 6238 over RFC 4226's HOTP).

No Django here: keys are bytes, times are Unix seconds. Keyward uses HMAC-SHA1,
6 digits and 30-second steps, what every authenticator app reads from an
otpauth:// URI, and accepts the step before and after the current one so a
phone clock a little off still works.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote, urlencode

DIGITS = 6
STEP_SECONDS = 30
WINDOW = 1  # steps accepted either side of the current one
KEY_BYTES = 20  # 160 bits, RFC 4226's recommended length for HMAC-SHA1


def new_key() -> bytes:
    """Return a fresh random key for a new authenticator."""
    return secrets.token_bytes(KEY_BYTES)


def key_text(key: bytes) -> str:
    """Return `key` as base32 without padding, in groups of four, for typing into an app."""
    text = base64.b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def provisioning_uri(key: bytes, *, account: str, issuer: str) -> str:
    """Return the otpauth:// URI an authenticator app reads from a QR code."""
    secret = base64.b32encode(key).decode().rstrip("=")
    label = quote(f"{issuer}:{account}", safe="@:")
    query = urlencode(
        {
            "secret": secret,
            "issuer": issuer,
            "algorithm": "SHA1",
            "digits": DIGITS,
            "period": STEP_SECONDS,
        },
        quote_via=quote,
    )
    return f"otpauth://totp/{label}?{query}"


def hotp(key: bytes, counter: int, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    """Return the HOTP value of `counter` (RFC 4226 section 5.3), `digits` long."""
    mac = hmac.new(key, struct.pack(">Q", counter), getattr(hashlib, digest)).digest()
    offset = mac[-1] & 0x0F
    number = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10**digits).zfill(digits)


def time_step(at: float) -> int:
    """Return the RFC 6238 time step (T) that Unix time `at` falls in."""
    return int(at // STEP_SECONDS)


def code_at(key: bytes, at: float, *, digits: int = DIGITS, digest: str = "sha1") -> str:
    """Return the TOTP code for Unix time `at`."""
    return hotp(key, time_step(at), digits=digits, digest=digest)


def normalize_code(code: str) -> str:
    """Return `code` without the spaces and dashes people type or paste into it."""
    return "".join(ch for ch in (code or "") if ch not in " -\t")


def matching_step(key: bytes, code: str, at: float, *, window: int = WINDOW) -> int | None:
    """Return the time step within `window` of `at` whose code is `code`, or None.

    Every step of the window is computed and compared in constant time, so the
    answer takes as long whichever step (if any) matches.
    """
    code = normalize_code(code)
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = time_step(at)
    found = None
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(hotp(key, step), code) and found is None:
            found = step
    return found
