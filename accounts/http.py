"""Read facts about the client from a request."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

from accounts.text import name_repaired


@lru_cache(maxsize=4096)  # every request asks (API auth, request log); clients repeat
def _address(value: str) -> str | None:
    """Return `value` as a canonical IP address, or None if it is not one.

    A zone index (fe80::1%eth0) is refused too: databases' inet columns and
    the allow-lists' networks have no place for it.
    """
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if getattr(address, "scope_id", None):
        return None
    return str(address)


def client_ip(request: HttpRequest | None) -> str | None:
    """Return the client's IP address, trusting X-Forwarded-For only when configured.

    Whatever a header says, the answer is an IP address or None: it is stored
    in IP columns, compared with allow-lists and written to logs.
    """
    if request is None:
        return None
    if settings.KEYWARD_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        # The proxy appends the address it saw last; earlier entries are the client's claim.
        # A last entry that is no address gives None, not the proxy's own address: an
        # allow-list naming the proxy must not let every such request through.
        if forwarded:
            return _address(forwarded.split(",")[-1])
    return _address(request.META.get("REMOTE_ADDR") or "")


def limit_key(request: HttpRequest | None) -> str | None:
    """Return the address the rate limits count `request` under: "unknown" when it has no
    readable address (those share one count), None without a request."""
    if request is None:
        return None
    return client_ip(request) or "unknown"


def user_agent(request: HttpRequest | None) -> str:
    """Return the client's User-Agent header, cut to what the audit log stores."""
    if request is None:
        return ""
    return _user_agent(request.META.get("HTTP_USER_AGENT", ""))


@lru_cache(maxsize=1024)  # every API request and gateway check asks, twice; clients repeat
def _user_agent(value: str) -> str:
    # Stored as text: characters a database refuses (NUL) become spaces.
    return name_repaired(value)[:255]
