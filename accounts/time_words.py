"""Say how long ago or until a moment in its largest unit ("3 days"), as Django's
timesince(depth=1) says it, for a fraction of its cost.

The Tokens tab says it up to three times a row. timesince builds a calendar pivot and
formats a lazy translation for every call; here the unit is counted directly and its
words (the same translated strings) are formatted once per unit, number and language.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from django.utils import timezone
from django.utils.html import avoid_wrapping
from django.utils.timesince import TIME_STRINGS
from django.utils.translation import get_language

# The units below a month, largest first, in seconds (timesince's TIME_CHUNKS).
UNITS = (("week", 604_800), ("day", 86_400), ("hour", 3_600), ("minute", 60))


def largest_unit(earlier: datetime, later: datetime) -> tuple[str, int]:
    """Return the largest unit of time from `earlier` to `later` and how many of it fit.

    Years and months by the calendar, as timesince counts them ("1 month" from Jan 31
    to Feb 28 is not yet one); ("minute", 0) when `later` is not past `earlier`.
    """
    if timezone.is_aware(later) and timezone.is_aware(earlier):
        later = later.astimezone(earlier.tzinfo)
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if earlier.day > later.day or (earlier.day == later.day and earlier.time() > later.time()):
        months -= 1
    if months >= 12:
        return "year", months // 12
    if months > 0:
        return "month", months
    seconds = (later - earlier).total_seconds()
    for name, size in UNITS:
        if seconds >= size:
            return name, int(seconds // size)
    return "minute", 0


@lru_cache(maxsize=1024)
def _words(unit: str, count: int, language: str | None) -> str:
    return avoid_wrapping(TIME_STRINGS[unit] % {"num": count})


def between(earlier: datetime, later: datetime, language: str | None = None) -> str:
    """Return the time from `earlier` to `later` in words, as timesince(earlier, later,
    depth=1) does: "3\xa0days", "0\xa0minutes" when `later` is not past `earlier`.

    `language` is the current one unless given (a page saying many times reads it once).
    """
    return _words(*largest_unit(earlier, later), language or get_language())


def ago(
    moment: datetime | None, now: datetime | None = None, *, language: str | None = None
) -> str:
    """Return how long before `now` `moment` was, in its largest unit: "3 days ago", "just now"."""
    if moment is None:
        return ""
    now = now or timezone.now()
    if (now - moment).total_seconds() < 60:
        return "just now"
    return f"{between(moment, now, language)} ago"


def until(
    moment: datetime | None, now: datetime | None = None, *, language: str | None = None
) -> str:
    """Return how long after `now` `moment` is, in its largest unit: "in 3 days"."""
    if moment is None:
        return ""
    now = now or timezone.now()
    if (moment - now).total_seconds() < 60:
        return "in under a minute"
    if timezone.is_aware(now) and timezone.is_aware(moment):
        now = now.astimezone(moment.tzinfo)  # count by `moment`'s calendar, as timeuntil does
    return f"in {between(now, moment, language)}"
