"""The tokens panel of a workspace's overview: health counts that link to filtered lists,
and recent token events, limited to what the viewer may see."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import HTMX, actor_of, issue, signed_in
from tests.tokens_console.conftest import parse
from tokens import services
from tokens.models import Token, TokenKind

pytestmark = pytest.mark.django_db

OVERVIEW = reverse("accounts:workspace_overview", args=["acme"])
LIST = reverse("tokens:list", args=["acme"])


def cards(response) -> dict[str, tuple[int, str]]:
    """Return the overview's stat cards: label -> (count, link)."""
    return {
        a.find("span", class_="stat-label").text(): (
            int(a.find("span", class_="stat-value").text()),
            a.attrs["href"],
        )
        for a in parse(response).find_all("a")
        if "stat-card" in a.classes()
    }


def counts(response) -> dict[str, int]:
    return {label: count for label, (count, _) in cards(response).items()}


def events(response) -> list[str]:
    """Return the lines of the recent token activity list."""
    section = parse(response).find("section", **{"aria-labelledby": "recent-events-heading"})
    return [li.text() for li in section.find_all("li")]


def listed(client, link: str) -> list[str]:
    """Return the names of the token rows the list shows at `link`."""
    response = client.get(link)
    return [
        tr.find("span", class_="strong").text()
        for tr in parse(response).find_all("tr")
        if "token-row" in tr.classes()
    ]


def _set(token: Token, **fields) -> None:
    Token.objects.filter(pk=token.pk).update(**fields)


@pytest.fixture
def estate(workspace, admin_user, manager_user, member_user) -> None:
    """Create tokens in every state the overview counts, as of now.

    Active: busy, soon, idle-never-used, idle-used-long-ago, rotating (in its grace
    period), max-laptop (the Manager's) and mia-laptop (the Member's).
    """
    now = timezone.now()
    admin = actor_of(admin_user, workspace)

    busy, _ = issue(admin_user, workspace, "busy")
    _set(busy, last_used_at=now - timedelta(hours=3))
    issue(admin_user, workspace, "soon", expires_at=now + timedelta(days=3))
    idle, _ = issue(admin_user, workspace, "idle-never-used")
    _set(idle, created_at=now - timedelta(days=60))
    stale, _ = issue(admin_user, workspace, "idle-used-long-ago")
    _set(stale, created_at=now - timedelta(days=90), last_used_at=now - timedelta(days=45))
    rotating, _ = issue(admin_user, workspace, "rotating")
    services.token_rotate(actor=admin, token=rotating, grace="1d")  # two active "rotating"s

    expired, _ = issue(admin_user, workspace, "expired", expires_at=now + timedelta(days=1))
    _set(expired, expires_at=now - timedelta(days=2))
    lately, _ = issue(admin_user, workspace, "revoked-lately")
    services.token_revoke(actor=admin, token=lately)
    long_ago, _ = issue(admin_user, workspace, "revoked-long-ago")
    services.token_revoke(actor=admin, token=long_ago)
    _set(long_ago, revoked_at=now - timedelta(days=45))
    # Ran out first, revoked afterwards: the list calls it expired, not revoked.
    ran_out, _ = issue(admin_user, workspace, "ran-out", expires_at=now + timedelta(days=1))
    _set(ran_out, expires_at=now - timedelta(days=5))
    services.token_revoke(actor=admin, token=Token.objects.get(pk=ran_out.pk))

    issue(
        manager_user,
        workspace,
        "max-laptop",
        kind=TokenKind.PERSONAL,
        expires_at=now + timedelta(days=2),
    )
    mine, _ = issue(member_user, workspace, "mia-laptop", kind=TokenKind.PERSONAL)
    _set(mine, created_at=now - timedelta(days=40))
    theirs, _ = issue(manager_user, workspace, "max-old-laptop", kind=TokenKind.PERSONAL)
    services.token_revoke(actor=actor_of(manager_user, workspace), token=theirs)


ADMIN_COUNTS = {
    "active tokens": 8,
    "expiring within 7 days": 2,  # soon, max-laptop
    "unused for 30 days": 3,  # idle-never-used, idle-used-long-ago, mia-laptop
    "revoked in the last 30 days": 2,  # revoked-lately, max-old-laptop
}


@pytest.mark.parametrize("who", ["admin_user", "manager_user"])
def test_the_overview_counts_every_token_for_admins_and_managers(request, estate, who):
    response = signed_in(request.getfixturevalue(who)).get(OVERVIEW)

    assert counts(response) == ADMIN_COUNTS


def test_the_counts_link_to_the_filtered_lists(admin_client, estate):
    links = {label: link for label, (_, link) in cards(admin_client.get(OVERVIEW)).items()}

    assert links == {
        "active tokens": f"{LIST}?status=active",
        "expiring within 7 days": f"{LIST}?status=active&expiring=7",
        "unused for 30 days": f"{LIST}?status=active&unused=30",
        "revoked in the last 30 days": f"{LIST}?status=revoked&revoked_within=30",
    }


@pytest.mark.parametrize("who", ["admin_user", "member_user"])
def test_each_count_is_the_number_of_tokens_its_link_lists(request, estate, who):
    client = signed_in(request.getfixturevalue(who))

    shown = cards(client.get(OVERVIEW))

    assert shown
    for count, link in shown.values():
        assert len(listed(client, link)) == count


def test_each_link_lists_the_tokens_it_counts(admin_client, estate):
    shown = cards(admin_client.get(OVERVIEW))

    assert set(listed(admin_client, shown["expiring within 7 days"][1])) == {"soon", "max-laptop"}
    assert set(listed(admin_client, shown["unused for 30 days"][1])) == {
        "idle-never-used",
        "idle-used-long-ago",
        "mia-laptop",
    }
    assert set(listed(admin_client, shown["revoked in the last 30 days"][1])) == {
        "revoked-lately",
        "max-old-laptop",
    }


def test_a_members_overview_does_not_count_others_personal_tokens(member_client, estate):
    response = member_client.get(OVERVIEW)

    assert counts(response) == {
        "active tokens": 7,  # all but the Manager's max-laptop
        "expiring within 7 days": 1,  # soon, not the Manager's max-laptop
        "unused for 30 days": 3,
        "revoked in the last 30 days": 1,  # revoked-lately, not the Manager's old laptop
    }


def test_the_overview_counts_follow_the_clock(admin_client, estate, monkeypatch):
    later = timezone.now() + timedelta(days=3, hours=12)
    monkeypatch.setattr(timezone, "now", lambda: later)

    # soon and max-laptop expired; the old "rotating" left its grace period.
    assert counts(admin_client.get(OVERVIEW)) == {
        "active tokens": 5,
        "expiring within 7 days": 0,
        "unused for 30 days": 3,
        "revoked in the last 30 days": 3,
    }


def test_recent_token_events_name_the_action_the_token_and_the_actor(
    admin_client, workspace, manager_user
):
    token, _ = issue(manager_user, workspace, "ci-deploy")
    admin_client.post(
        reverse("tokens:rename", args=["acme", token.public_id]), {"name": "ci-release"}
    )
    admin_client.post(reverse("tokens:revoke", args=["acme", token.public_id]))

    lines = events(admin_client.get(OVERVIEW))

    assert len(lines) == 3
    assert lines[0].startswith("Revoked ci-release by admin@example.com")
    assert lines[1].startswith("Renamed ci-release by admin@example.com")
    assert lines[2].startswith("Created ci-deploy by manager@example.com")


def test_recent_token_events_show_the_latest_ten(admin_client, workspace, admin_user):
    for n in range(12):
        issue(admin_user, workspace, f"token-{n:02d}")

    lines = events(admin_client.get(OVERVIEW))

    assert len(lines) == 10
    assert lines[0].startswith("Created token-11")
    assert lines[-1].startswith("Created token-02")


def test_a_members_overview_lists_no_events_of_others_personal_tokens(
    member_client, workspace, admin_user, manager_user, member_user
):
    issue(admin_user, workspace, "shared-ci")
    issue(manager_user, workspace, "max-secret-laptop", kind=TokenKind.PERSONAL)
    issue(member_user, workspace, "mia-laptop", kind=TokenKind.PERSONAL)

    text = " ".join(events(member_client.get(OVERVIEW)))
    everything = " ".join(events(signed_in(admin_user).get(OVERVIEW)))

    assert "shared-ci" in text
    assert "mia-laptop" in text
    assert "max-secret-laptop" not in text
    assert "max-secret-laptop" in everything


def test_the_overview_of_events_ignores_other_workspaces(admin_client, other_workspace, outsider):
    issue(outsider, other_workspace, "globex-ci")

    response = admin_client.get(OVERVIEW)

    assert "globex-ci" not in response.content.decode()
    assert set(counts(response).values()) == {0}


def test_an_empty_workspace_overview_says_what_to_do(admin_client, workspace):
    dom = parse(admin_client.get(OVERVIEW))

    assert "No token activity yet." in dom.text()
    assert dom.find("a", href=LIST).text() == "Create your first token"


def test_the_overview_is_for_members_only(outsider, workspace):
    response = signed_in(outsider).get(OVERVIEW)

    assert response.status_code == 404


def test_the_filtered_list_says_which_filter_is_in_force(admin_client, estate):
    response = admin_client.get(f"{LIST}?status=active&unused=30", **HTMX)

    assert "Showing tokens unused for 30 days." in parse(response).text()
