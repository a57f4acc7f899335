"""Issue 13 end to end, in real Chromium and Debian's nginx: guard a service, give a token a
rate limit, call the service through nginx until refused, and watch the token's usage chart
and client tables follow; screenshots light and dark.

nginx (tests/gateway/harness.py, deploy/nginx/gateway-example.conf) asks the same live
server the browser reads, so its checks are counted in this process and flushed into the
test database the way production flushes them (see `flush_usage`).
"""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Page, expect

from gateway.models import Service
from tests.browser.helpers import dialog, watch_console
from tests.factories import actor_of
from tests.gateway.harness import GuardedService, guarded_service
from tokens.models import Token
from tokens.services.resources import resource_create

pytestmark = pytest.mark.playwright

VIEWPORT = {"width": 1280, "height": 900}
AGENT = "orders-sync/2.1"
BURST = 3
# The numbers table's columns after "Start" (templates/gateway/usage_section.html).
COLUMNS = ("total", "allowed", "scope", "resource", "ip", "limit", "invalid")


def flush_usage() -> None:
    """Move the uses the live server counted into the usage tables, as the periodic job does.

    The one place this test knows how counting reaches the database: nginx's checks ran in
    this process (the live server's threads), and `manage.py flush_usage` writes them.
    """
    call_command("flush_usage", stdout=io.StringIO())


@pytest.fixture
def nginx(live_server, settings, tmp_path) -> GuardedService:
    """Start nginx and a recording service in front of it, asking the browser's live server."""
    # nginx names Keyward by the address it reaches it on.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    port = urlsplit(live_server.url).port
    with guarded_service(tmp_path, f"http://127.0.0.1:{port}") as service:
        yield service


def call(service: GuardedService, secret: str, times: int) -> list:
    """Send `times` GETs to the guarded service with the token, as its client would."""
    return [
        service.request("GET", f"/orders/{n}", token=secret, headers={"User-Agent": AGENT})
        for n in range(times)
    ]


def guard(page: Page, base: str, slug: str, name: str) -> None:
    """Guard resource `name` as the HTTP service orders.test/orders from Settings → Resources."""
    page.goto(f"{base}/w/{slug}/settings/resources/")
    page.get_by_role("link", name=f"Guard as HTTP service {name}").click()
    dialog(page).get_by_label("Match rules").fill("orders.test/orders")
    dialog(page).get_by_role("button", name="Guard service").click()
    expect(dialog(page)).to_be_hidden()
    expect(page.locator("#toasts")).to_contain_text(f"{name} is now guarded as an HTTP service.")


def create_limited_token(page: Page, base: str, slug: str, name: str) -> str:
    """Create, in the Add token dialog, a token that may only read Orders API, at most BURST
    requests at once and BURST a minute; return the secret it shows once."""
    page.goto(f"{base}/w/{slug}/settings/tokens/")
    page.locator("#add-token").click()
    form = dialog(page)
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_text("Choose scopes").click()
    checked = form.locator('input[name="scopes"]:checked')
    while checked.count():
        checked.first.uncheck()
    form.get_by_role("checkbox", name="Read Orders API").check()
    form.get_by_role("group", name="Resources").get_by_label("Orders API").check()
    form.locator("details.limits-section > summary").click()
    form.get_by_label("Requests").fill(str(BURST))
    form.get_by_label("Per", exact=True).select_option("minute")
    form.get_by_label("Burst").fill(str(BURST))
    form.get_by_role("button", name="Create token").click()
    expect(form.get_by_role("heading", name="Copy your new token")).to_be_visible()
    form.get_by_role("button", name="Reveal token").click()
    secret = form.locator("[data-secret-code]").inner_text().strip()
    form.get_by_role("link", name="Done").click()
    expect(form).to_be_hidden()
    return secret


def usage_numbers(page: Page) -> dict[str, int]:
    """Return the numbers table's columns summed over its rows (a call may cross an hour)."""
    section = page.locator("section.usage-report")
    section.get_by_text("The numbers as a table").click()
    rows = section.locator(".usage-numbers tbody tr")
    expect(rows.first).to_be_visible()
    totals = dict.fromkeys(COLUMNS, 0)
    for row in rows.all():
        for column, cell in zip(COLUMNS, row.locator("td").all_inner_texts(), strict=True):
            totals[column] += int(cell)
    return totals


def bar_counts(page: Page) -> dict[str, int]:
    """Return what the chart's bars say (their tooltips), summed by outcome."""
    totals: dict[str, int] = {}
    for bar in page.locator("section.usage-report svg rect").all():
        outcome = bar.get_attribute("class").removeprefix("usage-")
        count = re.search(r"UTC: (\d+) ", bar.locator("title").text_content())
        totals[outcome] = totals.get(outcome, 0) + int(count[1])
    return totals


def requests_from(page: Page, table: str, client: str):
    """Return the Requests cell of `client`'s row in the client table named `table`."""
    row = page.get_by_role("table", name=table).get_by_role("row").filter(has_text=client)
    return row.get_by_role("cell").last


def test_a_rate_limited_token_through_nginx_until_refused_then_its_usage_grows(
    signed_in_page, live_server, nginx, admin_user, workspace, screenshots_dir
):
    base, slug = live_server.url, workspace.slug
    resource_create(actor=actor_of(admin_user, workspace), workspace=workspace, name="Orders API")
    page = signed_in_page(admin_user, color_scheme="light", viewport=VIEWPORT)
    errors = watch_console(page)

    guard(page, base, slug, "Orders API")
    assert Service.objects.get(resource__name="Orders API").slug == "orders-api"
    secret = create_limited_token(page, base, slug, "orders-sync")
    token = Token.objects.get(workspace=workspace, name="orders-sync")
    assert [resource.name for resource in token.resources.all()] == ["Orders API"]

    # Exactly the burst goes through; then 429 with Retry-After, and the service saw only
    # the allowed requests.
    first = call(nginx, secret, BURST + 1)
    assert [answer.status for answer in first] == [200] * BURST + [429]
    assert int(first[-1].headers["Retry-After"]) > 0
    assert nginx.upstream.requests() == [("GET", f"/orders/{n}") for n in range(BURST)]

    flush_usage()
    activity = f"{base}{reverse('tokens:activity', args=[slug, token.public_id])}#usage-heading"
    page.goto(activity)
    expect(page.get_by_role("img", name="Requests per hour")).to_be_visible()
    chart = page.locator("#usage-chart-title")
    expect(chart).to_contain_text(f": {BURST + 1} in all.")
    assert bar_counts(page) == {"allowed": BURST, "limit": 1}
    before = usage_numbers(page)
    assert before == {**dict.fromkeys(COLUMNS, 0), "total": BURST + 1, "allowed": BURST, "limit": 1}
    expect(requests_from(page, "Client addresses", "127.0.0.1")).to_have_text(str(BURST + 1))
    expect(requests_from(page, "User agents", AGENT)).to_have_text(str(BURST + 1))
    section = page.locator("section.usage-report")
    section.screenshot(path=screenshots_dir / "gateway-e2e-usage-light.png")

    # More calls: refused, unless the bucket refilled meanwhile (one request per 20 s).
    more = call(nginx, secret, 3)
    assert {answer.status for answer in more} <= {200, 429}
    allowed_now = sum(answer.status == 200 for answer in more)
    assert len(nginx.upstream.requests()) == BURST + allowed_now
    flush_usage()
    page.reload()
    expect(chart).to_contain_text(f": {BURST + 4} in all.")
    after = usage_numbers(page)
    assert after["total"] == before["total"] + 3
    assert after["allowed"] == before["allowed"] + allowed_now
    assert after["limit"] == before["limit"] + 3 - allowed_now
    assert bar_counts(page) == {"allowed": after["allowed"], "limit": after["limit"]}
    expect(requests_from(page, "Client addresses", "127.0.0.1")).to_have_text(str(BURST + 4))
    expect(requests_from(page, "User agents", AGENT)).to_have_text(str(BURST + 4))
    section.screenshot(path=screenshots_dir / "gateway-e2e-usage-grown-light.png")
    assert errors == []

    dark = signed_in_page(admin_user, color_scheme="dark", viewport=VIEWPORT)
    errors = watch_console(dark)
    dark.goto(activity)
    assert dark.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    expect(dark.locator("#usage-chart-title")).to_contain_text(f": {BURST + 4} in all.")
    dark.locator("section.usage-report").screenshot(
        path=screenshots_dir / "gateway-e2e-usage-dark.png"
    )
    assert errors == []
