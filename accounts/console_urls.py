"""Give the console's frame its links: reversed once per workspace, not on every page.

The header, the settings tabs and the Tokens tab's buttons link to the same pages
on every request; {% url %} reversed each of them every time (some twenty reverse()
calls a page). These are reversed once per workspace slug, script prefix and URLconf.
"""

from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

# What the templates call them ({{ urls.tokens }}), and their URL names.
ACCOUNT_PAGES = {
    "home": "accounts:home",
    "workspace_create": "accounts:workspace_create",
    "security": "accounts:security",
    "password_change": "accounts:password_change",
    "passkeys": "accounts:passkey_list",
    "logout": "accounts:logout",
    "admin": "admin:index",
}
WORKSPACE_PAGES = {
    "overview": "accounts:workspace_overview",
    "settings": "accounts:settings",
    "tokens": "tokens:list",
    "token_create": "tokens:create",
    "token_check": "tokens:check",
    "members": "accounts:members",
    "resources": "tokens:resources",
    "policies": "tokens:policies",
    "audit": "accounts:audit",
}


@lru_cache(maxsize=1024)
def _reversed(slug: str | None, script_prefix: str, urlconf: str) -> MappingProxyType:
    urls = {key: reverse(name, urlconf=urlconf) for key, name in ACCOUNT_PAGES.items()}
    if slug is not None:
        urls |= {
            key: reverse(name, kwargs={"slug": slug}, urlconf=urlconf)
            for key, name in WORKSPACE_PAGES.items()
        }
    return MappingProxyType(urls)


def console_urls(slug: str | None = None) -> MappingProxyType:
    """Return the account's pages and, given a workspace's `slug`, the workspace's pages,
    by the names in ACCOUNT_PAGES and WORKSPACE_PAGES, as reverse() gives them now."""
    return _reversed(slug, get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF)
