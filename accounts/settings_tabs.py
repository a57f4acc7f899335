"""Let newer apps add a tab to Settings; accounts and tokens never import them.

DESIGN §1: `gateway` imports `tokens` and `accounts`, not the reverse. An app
registers a SettingsTab from its AppConfig.ready(); the Settings tabs show it,
after the built-in ones, to the members whose role grants its permission. The
tab's view must ask for the same permission (workspace_view(tab.perm)): hiding
a link protects nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf, reverse

from accounts.models import Membership
from accounts.permissions import Perm, has_perm

__all__ = ["SettingsTab", "TabLink", "register", "tabs", "visible_tabs"]


@dataclass(frozen=True)
class SettingsTab:
    """A tab of Settings: `label`, the page `url_name` (taking the workspace's slug), shown to
    the roles granted `perm`; the page's context names it with `tab = key`."""

    key: str
    label: str
    url_name: str
    perm: Perm


@dataclass(frozen=True)
class TabLink:
    key: str
    label: str
    url: str


_tabs: dict[str, SettingsTab] = {}


def register(tab: SettingsTab) -> None:
    """Add `tab` to Settings (again under the same key replaces it)."""
    _tabs[tab.key] = tab


def tabs() -> tuple[SettingsTab, ...]:
    """Return the registered tabs in the order they were first registered."""
    return tuple(_tabs.values())


@lru_cache(maxsize=1024)
def _url(url_name: str, slug: str, script_prefix: str, urlconf: str) -> str:
    return reverse(url_name, kwargs={"slug": slug}, urlconf=urlconf)


def visible_tabs(membership: Membership | None, slug: str) -> list[TabLink]:
    """Return the links of the registered tabs `membership` may open, in the workspace `slug`."""
    prefix, urlconf = get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF
    return [
        TabLink(tab.key, tab.label, _url(tab.url_name, slug, prefix, urlconf))
        for tab in _tabs.values()
        if has_perm(membership, tab.perm)
    ]
