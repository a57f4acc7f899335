"""A token's activity page: who may see it, which events it lists, pages, queries, last use."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from tests.factories import HTMX, actor_of, issue, signed_in
from tests.tokens_console.conftest import parse
from tokens import services
from tokens.actors import Actor
from tokens.models import Token, TokenKind
from tokens.views.activity import token_events

pytestmark = pytest.mark.django_db

WHO = ["admin_user", "manager_user", "member_user", "outsider"]
TARGETS = ["ws_token", "admin_personal", "manager_personal", "member_personal", "foreign_token"]
ALL_SCOPES = ["workspace:read", "tokens:read", "tokens:write"]


def activity_url(token: Token, slug: str | None = None) -> str:
    return reverse(
        "tokens:activity",
        kwargs={"slug": slug or "acme", "public_id": token.public_id},
    )


def event_rows(response) -> list:
    """Return the rows of the events table, in the order shown."""
    table = parse(response).find("table", class_="table audit-table")
    if table is None:
        return []
    return table.find("tbody").find_all("tr")


def actions(response) -> list[str]:
    """Return the action of each listed event, in the order shown."""
    return [row.find("code").text() for row in event_rows(response)]


def api_call(secret: str, method: str, path: str, body: dict | None = None):
    """Call the JSON API with `secret` as a Bearer token, from a fixed client address."""
    client = Client(REMOTE_ADDR="192.0.2.44", HTTP_USER_AGENT="deploy-script/2.1")
    headers = {"Authorization": f"Bearer {secret}"}
    if method == "get":
        return client.get(f"/api/v1{path}", headers=headers)
    return client.generic(
        method.upper(),
        f"/api/v1{path}",
        json.dumps(body or {}),
        content_type="application/json",
        headers=headers,
    )


@pytest.fixture
def all_tokens(ws_token, admin_personal, manager_personal, member_personal, foreign_token):
    return {
        "ws_token": ws_token,
        "admin_personal": admin_personal,
        "manager_personal": manager_personal,
        "member_personal": member_personal,
        "foreign_token": foreign_token,
    }


# Who may see it --------------------------------------------------------------------------


def _expected(who: str, target: str) -> int:
    if who == "outsider" or target == "foreign_token":
        return 404  # not a member of acme / not a token of acme
    if who == "member_user" and target not in {"ws_token", "member_personal"}:
        return 404  # others' personal tokens are not even visible to Members
    return 200


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("who", WHO)
def test_who_may_see_a_tokens_activity(request, all_tokens, who, target, htmx):
    client = signed_in(request.getfixturevalue(who))
    token = all_tokens[target]

    response = client.get(activity_url(token), **(HTMX if htmx else {}))

    assert response.status_code == _expected(who, target)
    if response.status_code == 404:
        assert token.name not in response.content.decode()


def test_an_outsider_sees_their_own_workspaces_token(outsider, foreign_token):
    client = signed_in(outsider)

    response = client.get(activity_url(foreign_token, slug="globex"))

    assert response.status_code == 200
    assert "Activity of globex-ci" in parse(response).text()


def test_anonymous_visitors_are_sent_to_sign_in(client, ws_token):
    response = client.get(activity_url(ws_token))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_revoked_tokens_activity_stays_visible(admin_client, admin_user, ws_token, workspace):
    services.token_revoke(actor=actor_of(admin_user, workspace), token=ws_token)

    response = admin_client.get(activity_url(ws_token))

    assert response.status_code == 200
    text = parse(response).text()
    assert "Revoked" in text
    assert "Revoked by a user" in text
    assert actions(response)[0] == "token.revoked"


def seen_from(token: Token, workspace) -> None:
    """Record an event about `token` made from the address 203.0.113.9."""
    AuditEvent.objects.create(
        workspace=workspace,
        action="token.checked",
        actor_label="admin@example.com",
        target_type="token",
        target_id=token.public_id,
        ip="203.0.113.9",
    )


def test_a_member_sees_a_workspace_tokens_facts_but_not_its_events(
    member_client, manager_user, workspace
):
    token, _ = issue(manager_user, workspace, "ci-deploy")
    services.token_rename(
        actor=actor_of(manager_user, workspace), token=token, name="ci-main", description=""
    )
    seen_from(token, workspace)

    response = member_client.get(activity_url(token))

    assert response.status_code == 200
    text = parse(response).text()
    assert "Activity of ci-main" in text
    assert event_rows(response) == []
    assert "manager@example.com" in text  # who created it is a fact of the token, as in the list
    assert "token.renamed" not in text
    assert "203.0.113.9" not in text
    assert "Admins and Managers see its full history" in text


def test_a_member_sees_the_events_of_their_own_personal_token_without_client_addresses(
    member_client, member_user, admin_user, workspace
):
    token, _ = issue(member_user, workspace, "laptop", kind=TokenKind.PERSONAL)
    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)
    seen_from(token, workspace)

    response = member_client.get(activity_url(token))

    assert actions(response) == ["token.checked", "token.revoked", "token.created"]
    assert "203.0.113.9" not in response.content.decode()
    table = parse(response).find("div", id="activity-table").find("table")
    headers = [th.text() for th in table.find_all("th")]
    assert headers == ["When", "Event", "By", "Details"]


def test_managers_see_client_addresses(manager_user, workspace, ws_token):
    seen_from(ws_token, workspace)

    response = signed_in(manager_user).get(activity_url(ws_token))

    assert "203.0.113.9" in response.content.decode()


# What it lists ----------------------------------------------------------------------------


def test_the_lifecycle_is_listed_newest_first(
    admin_client, admin_user, manager_user, workspace, retrievable
):
    token, _ = issue(manager_user, workspace, "ci-deploy")
    manager = actor_of(manager_user, workspace)
    services.token_rename(actor=manager, token=token, name="ci-deploy-main", description="")
    services.token_reveal(actor=manager, token=token, purpose="copy")
    services.token_rotate(actor=manager, token=token, grace="1d")
    token.refresh_from_db()
    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)

    response = admin_client.get(activity_url(token))

    assert actions(response) == [
        "token.revoked",
        "token.rotated",
        "token.revealed",
        "token.renamed",
        "token.created",
    ]
    rows = event_rows(response)
    assert "admin@example.com" in rows[0].text()
    assert "manager@example.com" in rows[-1].text()
    assert "purpose: copy" in rows[2].text()


def test_a_check_of_the_value_is_listed(admin_client, admin_user, workspace):
    token, secret = issue(admin_user, workspace, "ci-deploy")
    services.token_check(actor=actor_of(admin_user, workspace), workspace=workspace, value=secret)

    response = admin_client.get(activity_url(token))

    assert actions(response) == ["token.checked", "token.created"]
    assert secret not in response.content.decode()


def test_writes_made_with_the_token_through_the_api_are_listed(admin_client, admin_user, workspace):
    automation, secret = issue(admin_user, workspace, "automation", scopes=ALL_SCOPES)
    victim, _ = issue(admin_user, workspace, "victim")

    made = api_call(secret, "post", "/tokens", {"name": "made-by-api", "scopes": ["tokens:read"]})
    renamed = api_call(secret, "patch", f"/tokens/{victim.public_id}", {"name": "victim-renamed"})
    revoked = api_call(secret, "delete", f"/tokens/{victim.public_id}")
    assert (made.status_code, renamed.status_code, revoked.status_code) == (201, 200, 200)

    response = admin_client.get(activity_url(automation))

    assert actions(response) == [
        "token.revoked",
        "token.renamed",
        "token.created",  # made-by-api, made with this token
        "token.created",  # automation itself
    ]
    rows = event_rows(response)
    for row in rows[:3]:
        assert "made with this token" in row.text()
        assert "token automation" in row.text()  # the actor is the token
        assert "192.0.2.44" in row.text()
        assert "deploy-script/2.1" in row.text()
    assert "made-by-api" in rows[2].text()
    assert "made with this token" not in rows[3].text()
    # The made token's own page lists its creation too, by the automation token.
    made_token = Token.objects.get(name="made-by-api")
    assert actions(admin_client.get(activity_url(made_token))) == ["token.created"]


def test_other_tokens_events_are_not_listed(admin_client, admin_user, workspace, ws_token):
    token, _ = issue(admin_user, workspace, "mine")
    other, _ = issue(admin_user, workspace, "other")
    services.token_rename(
        actor=actor_of(admin_user, workspace), token=other, name="other-renamed", description=""
    )
    services.token_revoke(actor=actor_of(admin_user, workspace), token=other)

    response = admin_client.get(activity_url(token))

    assert actions(response) == ["token.created"]
    assert "other" not in " ".join(row.text() for row in event_rows(response))


def test_other_workspaces_events_are_not_listed(
    admin_client, admin_user, workspace, other_workspace
):
    token, _ = issue(admin_user, workspace, "mine")
    # An event elsewhere that claims this token as target and as actor.
    AuditEvent.objects.create(
        workspace=other_workspace,
        action="token.forged",
        target_type="token",
        target_id=token.public_id,
        actor_token_id=token.public_id,
    )
    AuditEvent.objects.create(
        workspace=None,
        action="token.unscoped",
        target_type="token",
        target_id=token.public_id,
    )

    response = admin_client.get(activity_url(token))

    assert actions(response) == ["token.created"]


def test_a_token_without_events_says_so(admin_client, workspace, ws_token):
    # A token inserted without the service has no event at all.
    bare = Token.objects.create(
        workspace=workspace,
        kind=TokenKind.WORKSPACE,
        name="bare",
        prefix="kww",
        digest="0" * 64,
        last_four="abcd",
        scopes=["tokens:read"],
    )

    response = admin_client.get(activity_url(bare))

    assert event_rows(response) == []
    assert "No events yet" in parse(response).text()


def test_a_hostile_event_detail_is_escaped(admin_client, admin_user, workspace):
    token, _ = issue(admin_user, workspace, "mine")
    AuditEvent.objects.create(
        workspace=workspace,
        action="token.note",
        target_type="token",
        target_id=token.public_id,
        user_agent='<script>alert("ua")</script>',
        details={"url": '<img src=x onerror="alert(1)">'},
    )

    content = admin_client.get(activity_url(token)).content.decode()

    assert "<script>alert" not in content
    assert '<img src=x onerror="alert(1)">' not in content
    assert "&lt;img src=x" in content


# Pages and queries -------------------------------------------------------------------------


def add_events(token: Token, count: int) -> None:
    """Store `count` events about `token`, one minute apart, oldest first."""
    start = timezone.now() - timedelta(days=1)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            workspace_id=token.workspace_id,
            action="token.used",
            target_type="token",
            target_id=token.public_id,
            target_label=token.name,
            actor_label="admin@example.com",
            details={"n": n},
            created_at=start + timedelta(minutes=n),
        )
        for n in range(count)
    )


def test_pagination_by_50(admin_client, ws_token):
    add_events(ws_token, 119)  # plus token.created: 120 events

    first = admin_client.get(activity_url(ws_token))
    third = admin_client.get(activity_url(ws_token), {"page": 3})
    beyond = admin_client.get(activity_url(ws_token), {"page": 99})

    assert len(event_rows(first)) == 50
    assert actions(first)[0] == "token.created"  # made now, newer than the stored ones
    assert "n: 118" in event_rows(first)[1].text()
    assert len(event_rows(third)) == 20
    assert "n: 0" in event_rows(third)[-1].text()
    nav = parse(first).find("nav", class_="pagination")
    assert "Page 1 of 3 · 120 events" in nav.text()
    next_link = next(a for a in nav.find_all("a") if a.text() == "Next")
    assert next_link.attrs["href"] == "?page=2"
    assert next_link.attrs["hx-target"] == "#activity-table"
    assert len(event_rows(beyond)) == 20  # the last page
    shown = set()
    for page in (1, 2, 3):
        for row in event_rows(admin_client.get(activity_url(ws_token), {"page": page})):
            shown.add(row.text())
    assert len(shown) == 120


def test_htmx_pages_are_the_table_partial(admin_client, ws_token):
    add_events(ws_token, 60)

    response = admin_client.get(activity_url(ws_token), {"page": 2}, **HTMX)

    content = response.content.decode().strip()
    assert "<html" not in content
    assert content.startswith('<div id="activity-table">')
    assert len(event_rows(response)) == 11


def test_no_pagination_for_one_page(admin_client, ws_token):
    add_events(ws_token, 10)

    response = admin_client.get(activity_url(ws_token))

    assert parse(response).find("nav", class_="pagination") is None


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_the_query_count_does_not_grow_with_events(
    admin_user, workspace, manager_user, htmx, retrievable
):
    small, _ = issue(manager_user, workspace, "small")
    large, large_secret = issue(manager_user, workspace, "large", scopes=ALL_SCOPES)
    add_events(small, 9)
    add_events(large, 60)
    # Events of several kinds and actors, and writes made with the token through the API.
    for n in range(20):
        api_call(large_secret, "post", "/tokens", {"name": f"api-{n}", "scopes": ["tokens:read"]})
    for _ in range(19):
        services.token_reveal(actor=actor_of(manager_user, workspace), token=large)
    client = signed_in(admin_user)
    headers = HTMX if htmx else {}

    def count(token):
        with CaptureQueriesContext(connection) as context:
            response = client.get(activity_url(token), **headers)
        assert response.status_code == 200
        return len(context.captured_queries), len(event_rows(response))

    small_count, small_rows = count(small)
    large_count, large_rows = count(large)

    assert (token_events(small).count(), token_events(large).count()) == (10, 100)
    assert (small_rows, large_rows) == (10, 50)
    assert large_count == small_count


# Last use ----------------------------------------------------------------------------------


def facts(response) -> dict:
    dl = parse(response).find("dl", class_="facts")
    pairs = [child for child in dl.children if not isinstance(child, str)]
    return {div.find("dt").text(): div.find("dd").text() for div in pairs}


def test_the_last_use_shows_time_address_and_agent(admin_client, ws_token):
    used = timezone.now() - timedelta(hours=5)
    Token.objects.filter(pk=ws_token.pk).update(
        last_used_at=used, last_used_ip="203.0.113.77", last_used_user_agent="curl/8.5.0"
    )

    last = facts(admin_client.get(activity_url(ws_token)))["Last used"]

    assert f"{used:%b} {used.day}, {used:%Y %H:%M} UTC" in last
    assert "5 hours ago" in last
    assert "from 203.0.113.77" in last
    assert "curl/8.5.0" in last


def test_a_token_never_used_says_never(admin_client, ws_token):
    assert facts(admin_client.get(activity_url(ws_token)))["Last used"] == "Never"


def test_a_real_api_call_shows_as_the_last_use(admin_client, admin_user, workspace):
    token, secret = issue(admin_user, workspace, "reader")

    assert api_call(secret, "get", "/whoami").status_code == 200

    last = facts(admin_client.get(activity_url(token)))["Last used"]
    assert "just now" in last
    assert "192.0.2.44" in last
    assert "deploy-script/2.1" in last


def test_the_page_describes_the_token(admin_client, ws_token, manager_user):
    response = admin_client.get(activity_url(ws_token))

    shown = facts(response)
    assert "Activity of ci-deploy" in parse(response).find("h2").text()
    assert ws_token.censored in shown["Token"]
    assert ws_token.public_id in shown["Token"]
    assert shown["Kind"] == "Workspace"
    assert shown["Status"] == "Active"
    assert "by manager@example.com" in shown["Created"]
    assert ws_token.digest not in response.content.decode()


def test_a_personal_token_names_who_it_acts_as(member_client, member_personal):
    shown = facts(member_client.get(activity_url(member_personal)))

    assert shown["Kind"] == "Personal · acts as member@example.com"


# Getting there --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_user", "member_user"])
def test_each_list_row_links_its_name_to_the_activity(request, all_tokens, who):
    client = signed_in(request.getfixturevalue(who))

    page = parse(client.get(reverse("tokens:list", kwargs={"slug": "acme"})))

    rows = [tr for tr in page.find_all("tr") if "token-row" in tr.classes()]
    assert rows
    for row in rows:
        public_id = row.attrs["id"].removeprefix("token-")
        link = row.find("a", class_="token-link")
        token = Token.objects.get(public_id=public_id)
        assert link.attrs["href"] == activity_url(token)
        assert link.text() == token.name
        assert client.get(link.attrs["href"]).status_code == 200


def test_the_breadcrumb_leads_back_to_the_list(admin_client, ws_token):
    crumb = parse(admin_client.get(activity_url(ws_token))).find("p", class_="breadcrumb")

    assert crumb.find("a").attrs["href"] == reverse("tokens:list", kwargs={"slug": "acme"})


def test_a_deactivated_member_has_no_access(member_user, member_personal):
    client = signed_in(member_user)
    member_user.is_active = False
    member_user.save()

    assert client.get(activity_url(member_personal)).status_code in {302, 404}


def test_events_by_keyward_itself_name_it(admin_client, admin_user, workspace):
    token, _ = issue(admin_user, workspace, "mine")
    services.token_revoke(actor=Actor.system("GitHub secret scanning"), token=token)

    rows = event_rows(admin_client.get(activity_url(token)))

    assert "GitHub secret scanning" in rows[0].text()
