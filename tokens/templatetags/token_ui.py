"""Template helpers for the Tokens tab."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import quote

from django import template
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.translation import get_language

from tokens import rules
from tokens import scopes as scope_catalogue

register = template.Library()

SOON = timedelta(days=7)
# Stands for a token's id in a reversed URL: the <str:public_id> converter takes it, reverse()
# leaves it as it is, and no slug or public id contains "~".
PLACEHOLDER = "~token~"


@lru_cache(maxsize=1024)
def _token_url_pattern(name: str, slug: str, script_prefix: str, urlconf) -> str:
    return reverse(f"tokens:{name}", args=[slug, PLACEHOLDER], urlconf=urlconf)


@register.simple_tag
def token_url(name: str, slug: str, public_id: str) -> str:
    """Return the URL of the token page `name` (tokens:name), reversed once per workspace.

    A page of the Tokens tab links each of its rows five times; reverse() for
    every link cost more than the rest of a row's rendering.
    """
    pattern = _token_url_pattern(name, slug, get_script_prefix(), get_urlconf())
    return pattern.replace(PLACEHOLDER, quote(public_id, safe=""))


@lru_cache(maxsize=16)
def _months(language: str | None) -> tuple[str, ...]:
    return ("", *(str(MONTHS_3[month]).title() for month in range(1, 13)))


@register.filter
def iso(moment: datetime | None) -> str:
    """Return `moment` in ISO 8601 in the current time zone, as |date:'c' does."""
    return timezone.localtime(moment).isoformat() if moment else ""


@register.filter
def stamp(moment: datetime | None) -> str:
    """Return `moment` as |date:'M j, Y H:i' does ("Dec 2, 2026 04:05"), without its parser."""
    if not moment:
        return ""
    moment = timezone.localtime(moment)
    month = _months(get_language())[moment.month]
    return f"{month} {moment.day}, {moment.year} {moment:%H:%M}"


@register.filter
def may_manage(actor, token) -> bool:
    """Return whether the actor may rename or rotate the token."""
    return rules.may_manage(actor, token)


@register.filter
def may_revoke(actor, token) -> bool:
    """Return whether the actor may revoke the token."""
    return rules.may_revoke(actor, token)


@register.filter
def may_reveal(actor, token) -> bool:
    """Return whether the actor may see the token's stored value (retrievable policy)."""
    return rules.may_reveal(actor, token)


@register.filter
def scopes_in_words(scope_names) -> str:
    """Return a token's scopes as a preset's name, or their descriptions."""
    names = set(scope_names or ())
    for preset in scope_catalogue.presets():
        if names == set(preset.scopes):
            return preset.label
    labels = [scope.label for name, scope in scope_catalogue.catalogue().items() if name in names]
    return ", ".join(labels) or "No scopes"


ACTION_WORDS = {
    "token.created": "Created",
    "token.renamed": "Renamed",
    "token.rotated": "Rotated",
    "token.revoked": "Revoked",
    "token.auth_failed": "Refused a request with",
    "token.revealed": "Revealed",
}


@register.filter
def action_words(action: str) -> str:
    """Return an audit action in words for the console."""
    return ACTION_WORDS.get(action, action.replace("token.", "").replace("_", " ").capitalize())


@register.filter
def expires_soon(moment) -> bool:
    """Return whether `moment` is in the future but within 7 days."""
    if moment is None:
        return False
    now = timezone.now()
    return now < moment <= now + SOON
