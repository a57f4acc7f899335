"""The one reader of numbers and dates people type into query strings and commands."""

from __future__ import annotations

from datetime import date

import pytest

from accounts import query_params


@pytest.mark.parametrize(
    "value",
    ["", None, " ", "²", "①", "¹", "٣", "\uff11", "9" * 5000, "-1", "+1", "1.0", "1e3", "0x1"],
)
def test_only_ascii_digits_within_bounds_are_whole_numbers(value):
    assert query_params.whole_number(value, minimum=1, maximum=100) is None


@pytest.mark.parametrize(("value", "expected"), [("1", 1), (" 42 ", 42), ("100", 100), ("007", 7)])
def test_whole_numbers_are_read(value, expected):
    assert query_params.whole_number(value, minimum=1, maximum=100) == expected


@pytest.mark.parametrize("value", ["0", "101", "1000"])
def test_whole_numbers_outside_the_bounds_are_refused(value):
    assert query_params.whole_number(value, minimum=1, maximum=100) is None


def test_days_run_from_one_to_ten_years_unless_told():
    assert query_params.days("3650") == 3650
    assert query_params.days("3651") is None
    assert query_params.days("36500", maximum=36500) == 36500


def test_a_page_that_is_not_a_number_is_the_first():
    assert query_params.page_number("²") == 1
    assert query_params.page_number("9" * 5000) == 1
    assert query_params.page_number("-²") == 1
    assert query_params.page_number("3") == 3
    assert query_params.page_number("-1") == -1  # out of range: the paginator shows the last


@pytest.mark.parametrize(
    "value", ["", "soon", "2025-13-01", "٢٠٢٥-01-01", "2025-01-01" + "0" * 5000, "0000-01-01"]
)
def test_unreadable_days_are_none(value):
    assert query_params.day(value) is None


def test_days_are_read():
    assert query_params.day("2025-03-12") == date(2025, 3, 12)
