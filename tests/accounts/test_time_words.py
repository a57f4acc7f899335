"""accounts.time_words says what Django's timesince(depth=1) and timeuntil(depth=1) say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone, translation
from django.utils.timesince import timesince, timeuntil
from hypothesis import example, given, settings
from hypothesis import strategies as st

from accounts import time_words
from accounts.templatetags.console import ago, until

# Pure functions: no deadline (the machine may be busy), the same examples every run.
EXAMPLES = settings(deadline=None, derandomize=True, max_examples=300)
ZONES = st.sampled_from([UTC, ZoneInfo("Europe/Paris"), ZoneInfo("America/Los_Angeles")])
MOMENTS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 12, 31))
SPANS = st.one_of(
    st.timedeltas(min_value=timedelta(seconds=-90), max_value=timedelta(days=3)),
    st.timedeltas(min_value=timedelta(days=-400), max_value=timedelta(days=20_000)),
)


@EXAMPLES
@given(start=MOMENTS, span=SPANS, zone=ZONES, other_zone=ZONES)
@example(  # Jan 31 to Feb 28: not yet a month
    start=datetime(2026, 1, 31, 12), span=timedelta(days=28), zone=UTC, other_zone=UTC
)
@example(start=datetime(2024, 2, 29, 8), span=timedelta(days=366), zone=UTC, other_zone=UTC)
@example(start=datetime(2026, 3, 1), span=timedelta(days=365, seconds=-1), zone=UTC, other_zone=UTC)
@example(start=datetime(2026, 5, 2), span=timedelta(seconds=59.5), zone=UTC, other_zone=UTC)
@example(  # Mar 1 12:00 to Apr 1 06:00: the same day, not yet the hour: 4 weeks
    start=datetime(2026, 3, 1, 12), span=timedelta(days=31, hours=-6), zone=UTC, other_zone=UTC
)
@example(  # Jan 31 23:30 UTC to Feb 28 23:45 UTC: 4 weeks in UTC, 1 month in Paris
    start=datetime(2026, 1, 31, 23, 30),
    span=timedelta(days=28, minutes=15),
    zone=UTC,
    other_zone=ZoneInfo("Europe/Paris"),
)
def test_the_words_are_timesince_s(start, span, zone, other_zone):
    earlier = start.replace(tzinfo=zone)
    later = (earlier + span).astimezone(other_zone)
    assert time_words.between(earlier, later) == timesince(earlier, later, depth=1)
    # timeuntil counts by the calendar of its moment; until() does too.
    if (later - earlier).total_seconds() < 60:
        assert time_words.until(later, earlier) == "in under a minute"
    else:
        assert time_words.until(later, earlier) == f"in {timeuntil(later, earlier, depth=1)}"


def test_ago_and_until_round_to_the_largest_unit_and_say_under_a_minute():
    now = timezone.now()
    assert time_words.ago(now - timedelta(seconds=59), now) == "just now"
    assert time_words.ago(now - timedelta(days=3, hours=23), now) == "3\xa0days ago"
    assert time_words.ago(now - timedelta(days=800), now) == "2\xa0years ago"
    assert time_words.until(now + timedelta(seconds=30), now) == "in under a minute"
    assert time_words.until(now + timedelta(days=15), now) == "in 2\xa0weeks"
    assert time_words.ago(None) == time_words.until(None) == ""


def test_the_filters_say_it_against_the_clock():
    assert ago(timezone.now() - timedelta(hours=5)) == "5\xa0hours ago"
    assert until(timezone.now() + timedelta(hours=5, minutes=1)) == "in 5\xa0hours"


def test_the_words_follow_the_active_language():
    earlier = datetime(2026, 1, 1, tzinfo=UTC)
    later = earlier + timedelta(days=3)
    with translation.override("fr"):
        assert time_words.between(earlier, later) == timesince(earlier, later, depth=1)
        assert time_words.between(earlier, later) == "3\xa0jours"
    assert time_words.between(earlier, later) == "3\xa0days"
