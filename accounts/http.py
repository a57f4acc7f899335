"""Read facts about the client from a request."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

from accounts.text import name_repaired


def client_ip(request: HttpRequest | None) -> str | None:
    """Return the client's IP address, trusting X-Forwarded-For only when configured.

    Anything that is not an IP address gives None: the address is stored in an
    IP column, which refuses other text (PostgreSQL's inet answers an error).
    """
    if request is None:
        return None
    address = request.META.get("REMOTE_ADDR", "")
    if settings.KEYWARD_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        # The proxy appends the address it saw last; earlier entries are the client's claim.
        if forwarded:
            address = forwarded.split(",")[-1].strip()
    # Only an address is returned: it is stored in IP columns, which refuse anything else.
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def user_agent(request: HttpRequest | None) -> str:
    """Return the client's User-Agent header, cut to what the audit log stores."""
    if request is None:
        return ""
    # Stored as text: characters a database refuses (NUL) become spaces.
    return name_repaired(request.META.get("HTTP_USER_AGENT", ""))[:255]
