"""Generate, parse, checksum and digest token values. No Django imports.

Layout (GitHub's): ``<prefix>_`` + 30 base62 random characters + 6 base62
characters holding the CRC32 of those 30, left-padded with ``0``. The prefix is
the deployment's base prefix (``kw``) plus a kind letter: ``kww_`` for
workspace tokens, ``kwp_`` for personal ones.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 30
CHECKSUM_LENGTH = 6
BODY_LENGTH = RANDOM_LENGTH + CHECKSUM_LENGTH
KIND_LETTERS = {"workspace": "w", "personal": "p"}
_BASE62_SET = frozenset(BASE62)


@dataclass(frozen=True, slots=True)
class ParsedToken:
    """A token value whose layout and checksum are right."""

    value: str
    kind: str


def base62_encode(number: int, width: int) -> str:
    """Return `number` in base62, left-padded with ``0`` to `width` characters."""
    if number < 0:
        raise ValueError("base62_encode takes a non-negative number.")
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def checksum(random_part: str) -> str:
    """Return the 6-character base62 CRC32 of `random_part`."""
    number = zlib.crc32(random_part.encode("ascii"))
    digits = []
    for _ in range(CHECKSUM_LENGTH):  # a CRC32 always fits in 6 base62 digits
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits))


def kind_prefix(base_prefix: str, kind: str) -> str:
    """Return the prefix, underscore included, of tokens of `kind`: ``kww_``."""
    return f"{base_prefix}{KIND_LETTERS[kind]}_"


def generate(base_prefix: str, kind: str) -> str:
    """Return a new random token value of `kind` (about 178 bits of randomness)."""
    random_part = "".join(secrets.choice(BASE62) for _ in range(RANDOM_LENGTH))
    return kind_prefix(base_prefix, kind) + random_part + checksum(random_part)


class TokenParser:
    """Recognise this deployment's token values without any I/O.

    New tokens get `base_prefix`; `accepted` names earlier base prefixes whose
    tokens still work after the deployment changed its prefix.
    """

    def __init__(self, base_prefix: str, accepted: Iterable[str] = ()) -> None:
        self.base_prefix = base_prefix
        self._kinds = {
            kind_prefix(prefix, kind): kind
            for prefix in (base_prefix, *accepted)
            for kind in KIND_LETTERS
        }
        self._max_length = max(len(prefix) for prefix in self._kinds) + BODY_LENGTH

    def parse(self, value: str) -> ParsedToken | None:
        """Return the parsed token, or None when `value` is not a well-formed token."""
        if not BODY_LENGTH < len(value) <= self._max_length:
            return None
        kind = self._kinds.get(value[:-BODY_LENGTH])
        if kind is None:
            return None
        body = value[-BODY_LENGTH:]
        if not _BASE62_SET.issuperset(body):
            return None
        if checksum(body[:RANDOM_LENGTH]) != body[RANDOM_LENGTH:]:
            return None
        return ParsedToken(value=value, kind=kind)


def digest(value: str) -> str:
    """Return the SHA-256 hex digest under which a token is stored and looked up."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def last_four(value: str) -> str:
    """Return the last four characters of a token, the part shown in lists."""
    return value[-4:]


def censor(prefix: str, last: str) -> str:
    """Return the censored form shown in the console: ``kww_…a1B2``."""
    return f"{prefix}…{last}"


def token_pattern(base_prefix: str, accepted: Iterable[str] = (), kind: str | None = None) -> str:
    """Return a regular expression matching this deployment's tokens, for secret scanners.

    It matches tokens of `kind` (both kinds when None) under `base_prefix` and
    under every `accepted` earlier prefix: those tokens still work, so a leaked
    one must still be found.
    """
    prefixes = sorted({base_prefix, *accepted})
    stem = "|".join(re.escape(prefix) for prefix in prefixes)
    if len(prefixes) > 1:
        stem = f"(?:{stem})"
    letter = KIND_LETTERS[kind] if kind else f"[{''.join(sorted(KIND_LETTERS.values()))}]"
    return rf"\b{stem}{letter}_[0-9A-Za-z]{{{BODY_LENGTH}}}\b"
