"""A token's usage charts in real Chromium, light and dark (screenshots to look at)."""

from __future__ import annotations

from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from gateway import rollups, usage
from tests.browser.helpers import watch_console
from tests.factories import issue

pytestmark = pytest.mark.playwright

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}


@pytest.fixture
def busy_token(admin_user, workspace):
    """Return a token with a day of varied uses, from two addresses."""
    token, _ = issue(admin_user, workspace, "deploy-bot", scopes=["tokens:read"])
    now = usage.minute_of(timezone.now().timestamp())
    tallies = {}
    for hour in range(24):
        minute = now - hour * 60
        tally = Counter()
        tally[usage.field(token.public_id, "o", "allowed", "Billing")] = 20 + (hour * 7) % 30
        tally[usage.field(token.public_id, "o", "allowed", "")] = 5 + hour % 4
        tally[usage.field(token.public_id, "o", "scope", "Billing")] = hour % 5
        tally[usage.field(token.public_id, "o", "invalid", "")] = 3 if hour in (4, 5) else 0
        tally[usage.field(token.public_id, "o", "ip", "")] = 2 if hour == 9 else 0
        tally[usage.field(token.public_id, "ip", f"192.0.2.{1 + hour % 2}")] = 30
        tally[usage.field(token.public_id, "ua", "deploy-bot/1.4 (linux)")] = 30
        tallies[minute] = +tally
    rollups.write(tallies)
    return token


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_usage_chart_and_tables(
    scheme, signed_in_page, live_server, busy_token, admin_user, screenshots_dir
):
    page = signed_in_page(admin_user, color_scheme=scheme, viewport={"width": 1280, "height": 900})
    problems = watch_console(page)
    path = reverse("tokens:activity", kwargs={"slug": "acme", "public_id": busy_token.public_id})
    page.goto(f"{live_server.url}{path}")

    chart = page.get_by_role("img", name="Requests per hour")
    expect(chart).to_be_visible()
    expect(page.locator("section.usage-report svg rect")).not_to_have_count(0)
    section = page.locator("section.usage-report")
    expect(section.get_by_role("cell", name="192.0.2.1", exact=True)).to_be_visible()
    # The chart takes the section's width (the tokens list's usage bar styles stay there).
    assert chart.bounding_box()["width"] > 0.9 * section.bounding_box()["width"]
    page.locator("section.usage-report").screenshot(
        path=screenshots_dir / f"usage-24h-{scheme}.png"
    )

    page.get_by_role("link", name="Last 7 days").click()
    expect(page.get_by_role("img", name="Requests per hour, last 7 days")).to_be_visible()
    section.screenshot(path=screenshots_dir / f"usage-7d-{scheme}.png")

    page.get_by_role("link", name="Last 90 days").click()
    expect(page.get_by_role("img", name="Requests per day")).to_be_visible()
    page.locator("section.usage-report").screenshot(
        path=screenshots_dir / f"usage-90d-{scheme}.png"
    )
    assert problems == []


def rendered_font_px(locator) -> float:
    """Return the font size a text element of an SVG is drawn at, in screen pixels."""
    return locator.evaluate(
        "node => parseFloat(getComputedStyle(node).fontSize) * node.getScreenCTM().a"
    )


def assert_axis_readable(page) -> None:
    """Fail unless every label of the chart's axes is drawn at 11 px or more."""
    labels = page.locator("section.usage-report svg text.usage-axis")
    expect(labels).not_to_have_count(0)
    sizes = [rendered_font_px(labels.nth(index)) for index in range(labels.count())]
    assert min(sizes) >= 11, sizes


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_usage_chart_on_a_phone(
    scheme, signed_in_page, live_server, busy_token, admin_user, screenshots_dir
):
    page = signed_in_page(admin_user, color_scheme=scheme, viewport=PHONE, device_scale_factor=2)
    problems = watch_console(page)
    path = reverse("tokens:activity", kwargs={"slug": "acme", "public_id": busy_token.public_id})
    page.goto(f"{live_server.url}{path}")

    expect(page.get_by_role("img", name="Requests per hour")).to_be_visible()
    page.locator("section.usage-report").screenshot(
        path=screenshots_dir / f"usage-phone-{scheme}.png"
    )
    assert_axis_readable(page)
    # The chart scrolls in its own box, said under it, and from the keyboard; the page does not.
    box = page.get_by_role("region", name="Usage chart")
    assert box.evaluate("node => node.scrollWidth > node.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    expect(page.get_by_text("Scroll the chart sideways")).to_be_visible()
    box.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("node => node.scrollLeft > 0", arg=box.element_handle(), timeout=5000)
    page.locator("section.usage-report figure").screenshot(
        path=screenshots_dir / f"usage-phone-scrolled-{scheme}.png"
    )

    page.set_viewport_size(TABLET)
    page.locator("section.usage-report figure").screenshot(
        path=screenshots_dir / f"usage-tablet-{scheme}.png"
    )
    assert_axis_readable(page)
    expect(page.get_by_text("Scroll the chart sideways")).to_be_hidden()
    assert box.evaluate("node => node.scrollWidth <= node.clientWidth")
    assert problems == []


def screen_y(locator, attribute: str) -> float:
    """Return where an SVG element's y attribute (`y` or `y1`) lands on screen, in CSS px."""
    return locator.evaluate(
        """(node, attribute) => {
            const point = node.ownerSVGElement.createSVGPoint();
            point.y = parseFloat(node.getAttribute(attribute));
            return point.matrixTransform(node.getScreenCTM()).y;
        }""",
        attribute,
    )


def assert_y_axis_on_its_grid_lines(page) -> None:
    """Fail unless each y label is drawn at the height of its horizontal grid line."""
    labels = page.locator("section.usage-report svg text[text-anchor=end]")
    expect(labels).to_have_count(3)
    grid = page.locator("section.usage-report svg line.usage-grid")
    rows = [grid.nth(i) for i in range(grid.count())]
    rows = [line for line in rows if line.get_attribute("y1") == line.get_attribute("y2")]
    label_ys = sorted(screen_y(labels.nth(i), "y") for i in range(3))
    grid_ys = sorted(screen_y(line, "y1") for line in rows)
    assert label_ys == pytest.approx(grid_ys, abs=0.5)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_y_axis_stays_in_view_while_the_chart_scrolls(
    scheme, signed_in_page, live_server, busy_token, admin_user, screenshots_dir
):
    page = signed_in_page(admin_user, color_scheme=scheme, viewport=PHONE, device_scale_factor=2)
    problems = watch_console(page)
    path = reverse("tokens:activity", kwargs={"slug": "acme", "public_id": busy_token.public_id})
    page.goto(f"{live_server.url}{path}")

    box = page.get_by_role("region", name="Usage chart")
    box.scroll_into_view_if_needed()
    box.evaluate("node => { node.scrollLeft = node.scrollWidth; }")
    assert box.evaluate("node => node.scrollLeft > 0")
    assert box.evaluate("node => node.scrollLeft + node.clientWidth >= node.scrollWidth - 1")
    labels = page.locator("section.usage-report svg text[text-anchor=end]")
    expect(labels).to_have_count(3)
    for index in range(3):
        label = labels.nth(index)
        expect(label).to_be_visible()
        bounds = label.bounding_box()
        assert 0 <= bounds["x"] <= PHONE["width"] - bounds["width"], bounds
        assert 0 <= bounds["y"] <= PHONE["height"] - bounds["height"], bounds
        # Nothing (the scrolled bars, the box's edge shadow) is drawn over it.
        assert label.evaluate(
            """node => {
                const box = node.getBoundingClientRect();
                const hit = document.elementFromPoint(
                    box.x + box.width / 2, box.y + box.height / 2);
                return hit === node || node.contains(hit);
            }"""
        ), label.text_content()
    assert_y_axis_on_its_grid_lines(page)
    assert_axis_readable(page)
    page.locator("section.usage-report figure").screenshot(
        path=screenshots_dir / f"usage-phone-end-{scheme}.png"
    )

    page.set_viewport_size({"width": 1280, "height": 900})
    assert box.evaluate("node => node.scrollWidth <= node.clientWidth")
    assert_y_axis_on_its_grid_lines(page)
    page.locator("section.usage-report figure").screenshot(
        path=screenshots_dir / f"usage-desktop-{scheme}.png"
    )
    assert problems == []
