"""Say a token's facts in words for the console: its URLs, dates and scopes, cheaply.

The Tokens tab draws each of these for every row of a page; Django's {% url %}
and |date cost more than the rest of a row, so these give the same text faster.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from functools import lru_cache
from urllib.parse import quote

from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import timezone
from django.utils.dates import MONTHS_3
from django.utils.translation import get_language

from tokens import scopes as scope_catalogue

SOON = timedelta(days=7)
# Stands for a token's id in a reversed URL: the <str:public_id> converter takes it, reverse()
# leaves it as it is, and no slug or public id contains "~".
PLACEHOLDER = "~token~"


@lru_cache(maxsize=1024)
def _token_url_pattern(name: str, slug: str, script_prefix: str, urlconf) -> str:
    return reverse(f"tokens:{name}", args=[slug, PLACEHOLDER], urlconf=urlconf)


def token_url_pattern(name: str, slug: str) -> str:
    """Return the URL of the token page `name` (tokens:name) with PLACEHOLDER for the token's id.

    Reversed once per workspace (and script prefix), not once per link.
    """
    return _token_url_pattern(name, slug, get_script_prefix(), get_urlconf())


def fill_token_url(pattern: str, public_id: str) -> str:
    """Return `pattern` (see token_url_pattern) with the token's id in place of PLACEHOLDER."""
    return pattern.replace(PLACEHOLDER, url_part(public_id))


def url_part(public_id: str) -> str:
    """Return the token's id as its URLs hold it (in place of PLACEHOLDER)."""
    return quote(public_id, safe="")


def token_url(name: str, slug: str, public_id: str) -> str:
    """Return the URL of the token page `name` (tokens:name), as reverse() would."""
    return fill_token_url(token_url_pattern(name, slug), public_id)


@lru_cache(maxsize=16)
def _months(language: str | None) -> tuple[str, ...]:
    return ("", *(str(MONTHS_3[month]).title() for month in range(1, 13)))


# `zone` and `language` below default to the current ones; a page that draws many dates
# passes them, read once (each read is a thread-local lookup).


def iso(moment: datetime | None, *, zone: tzinfo | None = None) -> str:
    """Return `moment` in ISO 8601 in the current time zone, as |date:'c' does."""
    return timezone.localtime(moment, zone).isoformat() if moment else ""


def day(moment: datetime | None, *, zone: tzinfo | None = None, language: str | None = None) -> str:
    """Return `moment` as |date:'M j, Y' does ("Dec 2, 2026"), without its parser."""
    if not moment:
        return ""
    moment = timezone.localtime(moment, zone)
    return f"{_months(language or get_language())[moment.month]} {moment.day}, {moment.year}"


def stamp(
    moment: datetime | None, *, zone: tzinfo | None = None, language: str | None = None
) -> str:
    """Return `moment` as |date:'M j, Y H:i' does ("Dec 2, 2026 04:05"), without its parser."""
    if not moment:
        return ""
    moment = timezone.localtime(moment, zone)
    month = _months(language or get_language())[moment.month]
    return f"{month} {moment.day}, {moment.year} {moment:%H:%M}"


def expires_soon(moment: datetime | None, now: datetime | None = None) -> bool:
    """Return whether `moment` is in the future but within 7 days (of `now`)."""
    if moment is None:
        return False
    now = now or timezone.now()
    return now < moment <= now + SOON


def scopes_in_words(scope_names) -> str:
    """Return a token's scopes as a preset's name, or their descriptions."""
    names = set(scope_names or ())
    for preset in scope_catalogue.presets():
        if names == set(preset.scopes):
            return preset.label
    known = scope_catalogue.catalogue()
    labels = [scope.label for name, scope in known.items() if name in names]
    # A workspace's own scopes (an HTTP service's orders:read) by name: no query per row.
    labels += sorted(names - known.keys())
    return ", ".join(labels) or "No scopes"
