"""A token's activity page in real Chromium: what an Admin and a Member see, and its looks."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.factories import actor_of
from tokens import services

pytestmark = pytest.mark.playwright


@pytest.fixture
def renamed_token(workspace, manager_user):
    """Return the workspace token ci-deploy-main, created and renamed by the Manager."""
    manager = actor_of(manager_user, workspace)
    token, _ = services.token_create(
        actor=manager, workspace=workspace, name="ci-deploy", scopes=["tokens:read"]
    )
    return services.token_rename(actor=manager, token=token, name="ci-deploy-main")


def activity_url(live_server, token) -> str:
    path = reverse("tokens:activity", kwargs={"slug": "acme", "public_id": token.public_id})
    return f"{live_server.url}{path}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_an_admin_sees_the_events_and_a_member_only_the_facts(
    scheme, signed_in_page, live_server, renamed_token, admin_user, member_user, screenshots_dir
):
    viewport = {"width": 1280, "height": 800}
    admin = signed_in_page(admin_user, color_scheme=scheme, viewport=viewport)
    admin.goto(activity_url(live_server, renamed_token))

    expect(admin.get_by_role("heading", name="Activity of ci-deploy-main")).to_be_visible()
    events = admin.locator("#activity-table tbody tr")
    expect(events).to_have_count(2)
    expect(events.first).to_contain_text("token.renamed")
    expect(admin.get_by_role("columnheader", name="Client")).to_be_visible()
    admin.screenshot(path=screenshots_dir / f"activity-admin-{scheme}.png", full_page=True)

    member = signed_in_page(member_user, color_scheme=scheme, viewport=viewport)
    member.goto(activity_url(live_server, renamed_token))

    expect(member.get_by_role("heading", name="Activity of ci-deploy-main")).to_be_visible()
    expect(member.get_by_text("Admins and Managers see its full history.")).to_be_visible()
    expect(member.locator("#activity-table table")).to_have_count(0)
    expect(member.get_by_text("token.renamed")).to_have_count(0)
    member.screenshot(path=screenshots_dir / f"activity-member-{scheme}.png", full_page=True)
