"""Read numbers and dates typed by people (query strings, previews, commands): ASCII only, bounded.

`str.isdigit` accepts "²" and "①", which `int` refuses, and `int` accepts "٣"; a
5000-digit value costs `int` time and then raises. Every whole number or date a
person types goes through here, so no caller meets those cases.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date

# Days-to-expiry and "within N days" filters: ten years is the longest span that means anything.
MAX_DAYS = 3650
MAX_PAGE = 1_000_000
# What days() takes, in words, for the messages that refuse a value.
DAYS_WANTED = f"a whole number of days from 1 to {MAX_DAYS}"


def whole_number(value: str | None, *, minimum: int, maximum: int) -> int | None:
    """Return `value` as an integer within [minimum, maximum], or None when it is not one."""
    value = (value or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > len(str(maximum)):
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None


class WholeNumberField(forms.IntegerField):
    """An IntegerField that takes ASCII digits only, as whole_number does.

    Django's IntegerField hands the text to `int`, which also reads "٣٠" and
    "3_0" as 30: a form would store what the preview beside it refuses.
    """

    def to_python(self, value):
        text = "" if value is None else str(value).strip()
        if text and not (text.isascii() and text.isdigit()):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(text)


def days(value: str | None, *, maximum: int = MAX_DAYS) -> int | None:
    """Return `value` as a number of days from 1 to `maximum`, or None when it is not one."""
    return whole_number(value, minimum=1, maximum=maximum)


def page_number(value: str | None) -> int:
    """Return the page asked for, or 1 when `value` is not a whole number.

    A number out of range stays as it is, for the paginator to show its last page.
    """
    value = (value or "").strip()
    number = whole_number(value.removeprefix("-"), minimum=0, maximum=MAX_PAGE)
    if number is None:
        return 1
    return -number if value.startswith("-") else number


def day(value: str | None) -> date | None:
    """Return `value` (YYYY-MM-DD, ASCII digits) as a date, or None when it is not one."""
    value = (value or "").strip()
    if not value.isascii() or len(value) > len("YYYY-MM-DD"):
        return None
    try:
        return parse_date(value)
    except ValueError:
        return None


def filter_value(
    query, parameter: str, read: Callable[[str], Any], problems: list[str], takes: str
) -> Any:
    """Return the list filter `parameter` of `query` as `read` makes it, or None.

    A value given but unreadable is ignored, and said in `problems` ("it takes `takes`"),
    for the list to show unfiltered with that message rather than fail.
    """
    raw = query.get(parameter, "").strip()
    value = read(raw)
    if raw and value is None:
        problems.append(f"The {parameter} filter was ignored: it takes {takes}.")
    return value
