"""System checks of the gateway's settings, run by manage.py before it serves."""

from __future__ import annotations

import re

from django.conf import settings
from django.core.checks import Error, register

# An HTTP field name (RFC 9110 token).
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
RESPONSE_HEADERS = ("token_id", "workspace", "owner", "scopes")


def _valid(setting: str, value: str) -> bool:
    if not value:  # only the token header may be left out (Bearer alone)
        return setting == "KEYWARD_GATEWAY_TOKEN_HEADER"
    return HEADER_NAME.fullmatch(value) is not None


@register()
def check_header_names(app_configs, **kwargs) -> list[Error]:
    """Refuse header names the check could not send or read: every allowed request would fail."""
    names = settings.KEYWARD_GATEWAY_RESPONSE_HEADERS
    errors = [
        Error(
            f"KEYWARD_GATEWAY_RESPONSE_HEADERS lacks {key!r}.",
            hint=f"Name a header for each of {', '.join(RESPONSE_HEADERS)}.",
            id="gateway.E001",
        )
        for key in RESPONSE_HEADERS
        if key not in names
    ]
    named = [("KEYWARD_GATEWAY_TOKEN_HEADER", settings.KEYWARD_GATEWAY_TOKEN_HEADER)] + [
        (f"KEYWARD_GATEWAY_RESPONSE_HEADERS[{key!r}]", names[key])
        for key in RESPONSE_HEADERS
        if key in names
    ]
    errors += [
        Error(
            f"{setting} is not an HTTP header name: {value!r}.",
            hint="Use letters, digits and hyphens, e.g. X-Keyward-Token-Id.",
            id="gateway.E002",
        )
        for setting, value in named
        if not _valid(setting, value)
    ]
    return errors
