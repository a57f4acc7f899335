"""Make, hash and read recovery codes: the way in when the authenticator is lost.

A code is 12 characters from a 31-letter alphabet without look-alikes (59
random bits), shown as three groups of four. Being random and long, it needs
no slow hash: it is stored as HMAC-SHA256 under a key derived from SECRET_KEY,
so the stored digests alone cannot be checked against guesses; the fallback
keys are tried too, so a SECRET_KEY rotation does not void them.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.utils.crypto import salted_hmac

COUNT = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # 31 letters, no i, l, o, 0, 1: 12 of them ≈ 59 bits
LENGTH = 12
_PURPOSE = "keyward.accounts.signin.recovery"


def new_codes(count: int = COUNT) -> list[str]:
    """Return `count` fresh codes, formatted for display (xxxx-xxxx-xxxx)."""
    return [
        format_code("".join(secrets.choice(ALPHABET) for _ in range(LENGTH))) for _ in range(count)
    ]


def format_code(code: str) -> str:
    """Return a normalized code in groups of four."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalize(code: str) -> str:
    """Return `code` as stored: lower case, without spaces or dashes."""
    return "".join(ch for ch in (code or "").lower() if ch not in " -\t")


def is_well_formed(code: str) -> bool:
    """Return whether `code` (normalized) could be a recovery code at all."""
    return len(code) == LENGTH and all(ch in ALPHABET for ch in code)


def digest(code: str, *, secret: str | None = None) -> str:
    """Return the stored digest of `code` under SECRET_KEY (or `secret`)."""
    key = settings.SECRET_KEY if secret is None else secret
    return salted_hmac(_PURPOSE, normalize(code), secret=key, algorithm="sha256").hexdigest()


def candidate_digests(code: str) -> list[str]:
    """Return the digests `code` may be stored under: the current key's, then the fallbacks'."""
    return [
        digest(code, secret=key) for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    ]
