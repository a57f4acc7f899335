"""The usage chart's geometry (gateway.usage_charts): the y axis's numbers, the times under it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from gateway import rollups, usage, usage_charts
from tests.factories import issue

NOW = datetime(2026, 3, 10, 13, 25, tzinfo=UTC)


@pytest.fixture
def token(admin_user, workspace):
    return issue(admin_user, workspace, "charted")[0]


def use(token, count: int, at: datetime = NOW) -> None:
    """Count `count` allowed uses of `token` in the minute of `at`."""
    minute = usage.minute_of(at.timestamp())
    rollups.write({minute: Counter({usage.field(token.public_id, "o", "allowed", ""): count})})


@pytest.mark.parametrize("count", [1, 3, 5, 7, 9, 45, 61, 999, 1001])
def test_each_y_label_names_the_height_of_its_grid_line(token, count):
    use(token, count)

    chart = usage_charts.build(token, "24h", now=NOW)

    plot_height = chart.baseline - usage_charts.TOP
    assert chart.peak >= count
    assert [tick["value"] for tick in chart.ticks] == [0, chart.peak // 2, chart.peak]
    for tick in chart.ticks:
        assert tick["y"] == pytest.approx(chart.baseline - tick["value"] / chart.peak * plot_height)
    [bar] = chart.bars
    assert bar["height"] == pytest.approx(count / chart.peak * plot_height, abs=0.01)


def test_the_last_24_hours_are_marked_every_six_hours_under_their_bars(token):
    chart = usage_charts.build(token, "24h", now=NOW)

    # From 14:00 yesterday to 13:00 today, one bar an hour.
    assert [label["text"] for label in chart.x_labels] == ["18:00", "00:00", "06:00", "12:00"]
    slot = (chart.width - chart.left) / 24
    for label, hour_index in zip(chart.x_labels, (4, 10, 16, 22), strict=True):
        assert label["x"] == pytest.approx(chart.left + (hour_index + 0.5) * slot, abs=0.01)


def test_a_label_too_near_an_edge_is_left_out_rather_than_cut(token):
    # The first bar is midnight's, at the left edge: no room for "00:00" centred under it.
    chart = usage_charts.build(token, "24h", now=NOW.replace(hour=23))

    assert [label["text"] for label in chart.x_labels] == ["06:00", "12:00", "18:00"]
    for label in chart.x_labels:
        half = usage_charts.LABEL_HALF_WIDTH
        assert chart.left + half <= label["x"] <= chart.width - half


def test_seven_days_are_marked_by_day_and_ninety_by_half_month(token):
    week = usage_charts.build(token, "7d", now=NOW)
    quarter = usage_charts.build(token, "90d", now=NOW)

    assert [label["text"] for label in week.x_labels] == [
        "Mar 4", "Mar 5", "Mar 6", "Mar 7", "Mar 8", "Mar 9", "Mar 10",
    ]  # fmt: skip
    first_day = (NOW - timedelta(days=89)).date()
    assert first_day.isoformat() == "2025-12-11"
    assert [label["text"] for label in quarter.x_labels] == [
        "Dec 15", "Jan 1", "Jan 15", "Feb 1", "Feb 15", "Mar 1",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("count", "texts"),
    [(45, ["0", "30", "60"]), (1001, ["0", "1k", "2k"]), (2_500_000, ["0", "2M", "4M"])],
)
def test_y_labels_fit_in_four_characters(token, count, texts):
    use(token, count)

    chart = usage_charts.build(token, "24h", now=NOW)

    assert [tick["text"] for tick in chart.ticks] == texts
