"""The deployment's token prefixes: the one new tokens get and the earlier ones still accepted."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from tokens import secrets


def parser() -> secrets.TokenParser:
    """Return the parser of this deployment's tokens, current and earlier prefixes alike."""
    return _parser(settings.KEYWARD_TOKEN_PREFIX, tuple(settings.KEYWARD_TOKEN_PREFIXES_ACCEPTED))


@cache
def _parser(base_prefix: str, accepted: tuple[str, ...]) -> secrets.TokenParser:
    return secrets.TokenParser(base_prefix, accepted)


def scanning_pattern(kind: str | None = None) -> str:
    """Return the expression to register with secret scanners: every prefix still accepted."""
    return secrets.token_pattern(
        settings.KEYWARD_TOKEN_PREFIX, settings.KEYWARD_TOKEN_PREFIXES_ACCEPTED, kind
    )
