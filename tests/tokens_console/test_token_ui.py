"""The Tokens tab's row helpers give what Django's {% url %} and |date would, cheaper."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.urls import reverse, set_script_prefix
from django.utils import timezone

from tokens.display import day, iso, stamp, token_url


@pytest.mark.parametrize("name", ["activity", "rename", "rotate", "revoke", "reveal"])
def test_token_urls_are_what_reverse_gives(name):
    for slug, public_id in (("acme", "tok_AbC123"), ("other-team", "tok_x_9")):
        expected = reverse(f"tokens:{name}", args=[slug, public_id])
        assert token_url(name, slug, public_id) == expected


def test_token_urls_follow_the_script_prefix():
    set_script_prefix("/keyward/")
    try:
        assert (
            token_url("rename", "acme", "tok_1") == "/keyward/w/acme/settings/tokens/tok_1/rename/"
        )
    finally:
        set_script_prefix("/")


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 1, 5, 7, 3, 9, 120000, tzinfo=UTC),
        datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
        None,
    ],
)
def test_dates_are_what_the_date_filter_gives(moment, settings):
    for zone in ("UTC", "Europe/Paris"):
        settings.TIME_ZONE = zone
        with timezone.override(zone):
            shown = Template("{{ m|date:'c' }}|{{ m|date:'M j, Y H:i' }}|{{ m|date:'M j, Y' }}")
            assert f"{iso(moment)}|{stamp(moment)}|{day(moment)}" == shown.render(
                Context({"m": moment})
            )
