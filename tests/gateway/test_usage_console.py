"""The usage section of a token's activity page, and its CSV export."""

from __future__ import annotations

import csv
import io
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone

from gateway import rollups, usage
from tests.factories import issue, signed_in
from tests.tokens_console.conftest import parse


def activity_url(token) -> str:
    return reverse("tokens:activity", kwargs={"slug": "acme", "public_id": token.public_id})


def csv_url(token) -> str:
    return reverse("usage:csv", kwargs={"slug": "acme", "public_id": token.public_id})


@pytest.fixture
def used(admin_user, workspace):
    """Return a token used 3 times allowed and once refused for scope, from one IP, now."""
    token, _ = issue(admin_user, workspace, "used", scopes=["tokens:read"])
    minute = usage.minute_of(timezone.now().timestamp())
    rollups.write(
        {
            minute: Counter(
                {
                    usage.field(token.public_id, "o", "allowed", "Billing"): 3,
                    usage.field(token.public_id, "o", "scope", "Billing"): 1,
                    usage.field(token.public_id, "ip", "192.0.2.9"): 4,
                    usage.field(token.public_id, "ua", "=cmd|evil"): 4,
                }
            )
        }
    )
    return token


def test_the_activity_page_draws_the_uses_stacked_by_outcome(admin_user, used):
    response = signed_in(admin_user).get(activity_url(used))
    section = parse(response).find("section", class_="usage-report")
    plot = section.find("svg", role="img")
    bars = plot.find_all("rect")
    assert sorted(bar.attrs["class"] for bar in bars) == ["usage-allowed", "usage-scope"]
    assert all("style" not in bar.attrs for bar in bars)  # strict CSP: attributes only
    axis = [text.text() for text in plot.find_all("text")]
    assert len([label for label in axis if label.endswith(":00")]) >= 3  # times under the bars
    assert "Times in UTC." in section.find("figcaption").text()
    rows = numbers(section)
    assert [cell.text() for cell in rows[0].find_all("td")][:3] == ["4", "3", "1"]
    lists = section.find("div", class_="usage-lists").text()
    assert "Billing" in lists
    assert "192.0.2.9" in lists
    assert "=cmd|evil" in lists  # shown as text, escaped by the template


def test_the_y_axis_is_drawn_beside_the_scrolling_plot_not_in_it(admin_user, used):
    section = parse(signed_in(admin_user).get(activity_url(used))).find(
        "section", class_="usage-report"
    )
    box = section.find("div", role="region")
    assert (box.attrs["tabindex"], box.attrs["aria-label"]) == ("0", "Usage chart")
    axis = section.find("svg", class_="usage-y-axis")
    assert axis.closest(lambda node: node is box) is None
    assert axis.attrs["aria-hidden"] == "true"  # the plot's title and the table say it all
    assert [text.text() for text in axis.find_all("text")] == ["0", "2", "4"]  # 4 uses
    plot = box.find("svg", role="img")
    assert all(text.text().endswith(":00") for text in plot.find_all("text"))
    # Side by side the two cover the chart's one coordinate space, at one scale.
    assert axis.attrs["viewbox"] == "0 0 60 240"
    assert plot.attrs["viewbox"] == "60 0 900 240"


def numbers(section) -> list:
    """Return the rows of the chart's numbers table."""
    return section.find("details", class_="usage-numbers").find("tbody").find_all("tr")


def test_the_ranges_are_24_hours_7_days_and_90_days(admin_user, used):
    client = signed_in(admin_user)
    for key, bars in (("24h", 24), ("7d", 168), ("90d", 90)):
        section = parse(client.get(activity_url(used), {"range": key})).find(
            "section", class_="usage-report"
        )
        assert len(numbers(section)) == 1  # only the steps with uses
        assert section.find("a", class_="active").attrs["href"].startswith(f"?range={key}")
        assert len(usage_points(client, used, key)) == bars


def usage_points(client, token, key) -> list[dict]:
    rows = list(csv.DictReader(io.StringIO(client.get(csv_url(token), {"range": key}).text)))
    return rows


def test_members_see_the_chart_but_not_the_clients(member_user, workspace):
    token, _ = issue(member_user, workspace, "mine", scopes=["tokens:read"], kind="personal")
    minute = usage.minute_of(timezone.now().timestamp())
    rollups.write({minute: Counter({usage.field(token.public_id, "ip", "192.0.2.9"): 1})})
    section = parse(signed_in(member_user).get(activity_url(token))).find(
        "section", class_="usage-report"
    )
    assert section.find("svg") is not None
    assert "192.0.2.9" not in section.text()


def test_the_csv_has_one_row_per_step_with_outcomes(admin_user, used):
    response = signed_in(admin_user).get(csv_url(used), {"granularity": "minute"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 61  # the minute an hour ago, partly, to the current one
    assert (rows[-1]["total"], rows[-1]["allowed"], rows[-1]["scope"]) == ("4", "3", "1")


def test_the_csv_refuses_a_bad_period(admin_user, used):
    response = signed_in(admin_user).get(csv_url(used), {"granularity": "week"})
    assert response.status_code == 400


def test_the_csv_of_another_workspaces_token_is_not_found(admin_user, outsider, other_workspace):
    theirs, _ = issue(outsider, other_workspace, "theirs")
    response = signed_in(admin_user).get(
        reverse("usage:csv", kwargs={"slug": "acme", "public_id": theirs.public_id})
    )
    assert response.status_code == 404


# Overview ----------------------------------------------------------------------------------


def test_the_overview_lists_top_tokens_most_refused_and_never_used(
    admin_user, workspace, used, member_user
):
    issue(admin_user, workspace, "quiet", scopes=["tokens:read"])
    busy, _ = issue(admin_user, workspace, "busy", scopes=["tokens:read"])
    minute = usage.minute_of(timezone.now().timestamp())
    rollups.write({minute: Counter({usage.field(busy.public_id, "o", "allowed", ""): 50})})
    url = reverse("accounts:workspace_overview", kwargs={"slug": "acme"})

    section = parse(signed_in(admin_user).get(url)).find("section", class_="card usage-overview")

    tables = section.find_all("table")
    assert [row.find("a").text() for row in tables[0].find("tbody").find_all("tr")] == [
        "busy",
        "used",
    ]
    assert [row.find("a").text() for row in tables[1].find("tbody").find_all("tr")] == ["used"]
    assert [item.find("a").text() for item in section.find("ul").find_all("li")] == ["quiet"]


def test_a_member_sees_no_usage_of_others_personal_tokens(admin_user, workspace, member_user):
    personal, _ = issue(admin_user, workspace, "admins-own", kind="personal")
    minute = usage.minute_of(timezone.now().timestamp())
    rollups.write({minute: Counter({usage.field(personal.public_id, "o", "allowed", ""): 5})})
    url = reverse("accounts:workspace_overview", kwargs={"slug": "acme"})
    admin_page = signed_in(admin_user).get(url).content.decode()
    member_page = signed_in(member_user).get(url).content.decode()
    assert "admins-own" in admin_page
    assert "admins-own" not in member_page
