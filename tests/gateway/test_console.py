"""Settings → Resources, HTTP services: guard a resource, change its rules, stop guarding it.

The dialogs are gateway's (gateway/console.py), shown over the tokens app's tab
through its resource panels; every change goes through gateway.services.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from gateway import services
from gateway.forms import split_rule
from gateway.models import Service, ServiceRule
from tests.factories import HTMX, actor_of, issue, signed_in, triggers
from tests.tokens_console.conftest import errors_of, field_of, parse
from tokens.models import Resource, Token

pytestmark = pytest.mark.django_db

RESOURCES = "/w/acme/settings/resources/"


def edit_url(resource: Resource, slug: str = "acme") -> str:
    return reverse("gateway:service_edit", kwargs={"slug": slug, "pk": resource.pk})


def delete_url(resource: Resource) -> str:
    return reverse("gateway:service_delete", kwargs={"slug": "acme", "pk": resource.pk})


def rules_of(resource: Resource) -> list[str]:
    return [
        f"{rule.host}{rule.path_prefix}"
        for rule in ServiceRule.objects.filter(service__resource=resource).order_by("pk")
    ]


def row_of(response, resource: Resource):
    return parse(response).find("tr", id=f"resource-{resource.pk}")


@pytest.fixture
def orders(workspace) -> Resource:
    return Resource.objects.create(workspace=workspace, name="Orders API", kind="application")


@pytest.fixture
def billing(workspace) -> Resource:
    return Resource.objects.create(workspace=workspace, name="billing")


@pytest.fixture
def admin_client(admin_user):
    return signed_in(admin_user)


def guard(actor, resource: Resource, *rules: str, **fields) -> Service:
    return services.service_create(
        actor=actor, resource=resource, rules=[split_rule(rule) for rule in rules], **fields
    )


# Typed rules -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "rule"),
    [
        ("orders.example.com", ("orders.example.com", "/")),
        ("orders.example.com/v1/orders", ("orders.example.com", "/v1/orders")),
        ("  orders.example.com /v1  ", ("orders.example.com", "/v1")),
        ("https://orders.example.com/v1", ("orders.example.com", "/v1")),
        ("*.example.com/", ("*.example.com", "/")),
    ],
)
def test_a_typed_line_is_a_host_and_a_path_prefix(typed, rule):
    assert split_rule(typed) == rule


# Guard, edit, stop -----------------------------------------------------------------------


def test_an_admin_guards_a_resource_and_the_row_shows_its_rules_and_scopes(admin_client, orders):
    response = admin_client.post(
        edit_url(orders),
        {
            "rules": "orders.example.com/v1\r\n\r\n*.orders.example.com",
            "slug": "",
            "read_methods": "GET HEAD OPTIONS",
        },
        **HTMX,
    )

    assert response.status_code == 200
    assert triggers(response)["toast"]["message"] == (
        "Orders API is now guarded as an HTTP service."
    )
    service = Service.objects.get(resource=orders)
    assert service.slug == "orders-api"
    assert service.method_scopes == {"GET": "read", "HEAD": "read", "OPTIONS": "read"}
    assert rules_of(orders) == ["orders.example.com/v1", "*.orders.example.com/"]
    cell = row_of(response, orders).text()
    assert "orders.example.com/v1" in cell
    assert "*.orders.example.com/" in cell
    assert "orders-api:read" in cell
    assert "orders-api:write" in cell
    assert AuditEvent.objects.filter(action="service.created").count() == 1


def test_a_label_only_resource_says_so_and_offers_to_guard_it(admin_client, orders):
    row = row_of(admin_client.get(RESOURCES), orders)

    assert "Label only" in row.text()
    link = row.find("a", id=f"service-resource-{orders.pk}")
    assert link.attrs["aria-label"] == "Guard as HTTP service Orders API"
    assert link.attrs["hx-get"] == edit_url(orders)


def test_the_edit_dialog_starts_from_the_service_and_saves_its_changes(admin_client, admin, orders):
    guard(admin, orders, "orders.example.com/v1", method_scopes={"GET": "read", "POST": "read"})

    dialog = parse(admin_client.get(edit_url(orders), **HTMX))
    assert field_of(dialog, "rules").find("textarea").text() == "orders.example.com/v1"
    assert field_of(dialog, "slug").find("input").attrs["value"] == "orders-api"
    assert field_of(dialog, "read_methods").find("input").attrs["value"] == "GET POST"

    response = admin_client.post(
        edit_url(orders),
        {"rules": "orders.example.com/v2", "slug": "orders", "read_methods": "get, head"},
        **HTMX,
    )

    assert triggers(response)["toast"]["message"] == "HTTP service Orders API saved."
    service = Service.objects.get(resource=orders)
    assert (service.slug, service.method_scopes) == ("orders", {"GET": "read", "HEAD": "read"})
    assert rules_of(orders) == ["orders.example.com/v2"]


def test_stopping_keeps_the_resource_as_a_label(admin_client, admin, orders):
    guard(admin, orders, "orders.example.com")

    confirm = admin_client.get(delete_url(orders), **HTMX)
    assert "orders.example.com/" in parse(confirm).text()
    response = admin_client.post(delete_url(orders), **HTMX)

    assert triggers(response)["toast"]["message"] == (
        "Orders API is a label again: the gateway refuses its requests."
    )
    assert not Service.objects.filter(resource=orders).exists()
    assert Resource.objects.filter(pk=orders.pk).exists()
    assert "Label only" in row_of(response, orders).text()


def test_stopping_says_how_many_tokens_lose_the_scopes(
    admin_client, admin, admin_user, workspace, orders
):
    guard(admin, orders, "orders.example.com")
    for name in ("one", "two"):
        issue(admin_user, workspace, name, scopes=["orders-api:read"])
    issue(admin_user, workspace, "unrelated", scopes=["tokens:read"])

    confirm = parse(admin_client.get(delete_url(orders), **HTMX)).text()
    assert "2 active tokens hold orders-api:read or orders-api:write and will lose them" in (
        " ".join(confirm.split())
    )
    response = admin_client.post(delete_url(orders), **HTMX)

    assert triggers(response)["toast"]["message"].endswith("Its scopes were removed from 2 tokens.")
    assert not Token.objects.filter(scopes__icontains="orders-api").exists()


def resource_delete_url(resource: Resource) -> str:
    return reverse("tokens:resource_delete", kwargs={"slug": "acme", "pk": resource.pk})


def words(response) -> str:
    return " ".join(parse(response).text().split())


@pytest.mark.parametrize("htmx", [True, False])
def test_the_resource_delete_dialog_says_which_tokens_lose_the_services_scopes(
    admin_client, admin, admin_user, workspace, orders, htmx
):
    guard(admin, orders, "orders.example.com")
    for name in ("one", "two"):
        issue(admin_user, workspace, name, scopes=["orders-api:read"])
    ended, _ = issue(admin_user, workspace, "ended", scopes=["orders-api:write"])
    Token.objects.filter(pk=ended.pk).update(revoked_at=ended.created_at)  # ended: not counted
    issue(admin_user, workspace, "unrelated", scopes=["tokens:read"])

    dialog = words(admin_client.get(resource_delete_url(orders), **(HTMX if htmx else {})))

    assert (
        "Orders API is a guarded HTTP service: 2 active tokens hold orders-api:read or "
        "orders-api:write and will lose them: a service given this name later does not open "
        "to them."
    ) in dialog
    admin_client.post(resource_delete_url(orders), **HTMX)
    assert not Token.objects.filter(scopes__icontains="orders-api").exists()


def test_the_resource_delete_dialog_of_a_service_without_holders_or_of_a_label(
    admin_client, admin, orders, billing
):
    guard(admin, orders, "orders.example.com")
    assert (
        "Orders API is a guarded HTTP service; no active token holds orders-api:read or "
        "orders-api:write"
    ) in words(admin_client.get(resource_delete_url(orders), **HTMX))
    label = words(admin_client.get(resource_delete_url(billing), **HTMX))
    assert "guarded HTTP service" not in label
    assert "Delete billing ?" in label


def test_the_resource_delete_dialog_asks_as_many_queries_for_many_holders_as_for_one(
    admin_client, admin, admin_user, workspace, orders, django_assert_num_queries
):
    guard(admin, orders, "orders.example.com")
    issue(admin_user, workspace, "holder-0", scopes=["orders-api:read"])
    admin_client.get(resource_delete_url(orders), **HTMX)  # warm up: the session
    with CaptureQueriesContext(connection) as one:
        admin_client.get(resource_delete_url(orders), **HTMX)

    for number in range(1, 8):
        issue(admin_user, workspace, f"holder-{number}", scopes=["orders-api:write"])

    with django_assert_num_queries(len(one)):
        response = admin_client.get(resource_delete_url(orders), **HTMX)
    assert "8 active tokens hold orders-api:read" in words(response)


def test_without_htmx_the_dialog_is_drawn_on_the_tab_and_saving_redirects(admin_client, orders):
    page = admin_client.get(edit_url(orders))
    assert page.status_code == 200
    dom = parse(page)
    assert dom.find("table") is not None
    assert dom.find("form", action=edit_url(orders)) is not None

    response = admin_client.post(edit_url(orders), {"rules": "orders.example.com"})

    assert response.status_code == 302
    assert response["Location"] == RESOURCES
    assert rules_of(orders) == ["orders.example.com/"]


# Bad input: a field error, nothing saved, nothing typed lost -----------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"rules": "orders example com/v1"}, "rules", "is not a host name"),
        ({"rules": "orders.example.com/v1?x=1"}, "rules", "is not a plain path"),
        ({"rules": "orders.example.com/a/../b"}, "rules", ". or .. segments"),
        ({"rules": "*.com"}, "rules", "top-level domain"),
        ({"rules": "a.example.com\na.example.com/"}, "rules", "listed twice"),
        ({"rules": "   \n  "}, "rules", "Give at least one host"),
        ({"rules": "orders.example.com", "read_methods": "GET G@T"}, "read_methods", "G@T"),
        ({"rules": "orders.example.com", "slug": "Orders API!"}, "slug", "lower-case letters"),
    ],
)
def test_a_malformed_rule_or_method_is_a_field_error_and_nothing_typed_is_lost(
    admin_client, orders, fields, field, message
):
    typed = {"slug": "", "read_methods": "GET HEAD", **fields}

    response = admin_client.post(edit_url(orders), typed, **HTMX)

    assert response.status_code == 200
    dom = parse(response)
    assert message in errors_of(field_of(dom, field))
    assert dom.find("textarea", name="rules").text() == " ".join(typed["rules"].split())
    assert dom.find("input", name="read_methods").attrs["value"] == typed["read_methods"]
    assert dom.find("input", name="slug").attrs.get("value", "") == typed["slug"]
    assert not Service.objects.exists()


def test_a_rule_another_service_has_is_refused_naming_that_service(
    admin_client, admin, orders, billing
):
    guard(admin, billing, "api.example.com/billing")
    typed = {"rules": "api.example.com/orders\napi.example.com/billing/", "read_methods": "GET"}

    response = admin_client.post(edit_url(orders), typed, **HTMX)

    dom = parse(response)
    error = errors_of(field_of(dom, "rules"))
    assert "already guards api.example.com/billing (billing)" in error
    assert "api.example.com/billing/" in dom.find("textarea", name="rules").text()
    assert not Service.objects.filter(resource=orders).exists()


# Who may, and where ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["manager_user", "member_user"])
def test_only_roles_that_manage_resources_reach_the_dialogs(request, who, admin, orders):
    guard(admin, orders, "orders.example.com")
    client = signed_in(request.getfixturevalue(who))
    before = rules_of(orders)

    for method, address in [
        ("get", edit_url(orders)),
        ("post", edit_url(orders)),
        ("get", delete_url(orders)),
        ("post", delete_url(orders)),
    ]:
        response = getattr(client, method)(address, {"rules": "evil.example.com"}, **HTMX)
        assert response.status_code == 403, (method, address)
    assert rules_of(orders) == before
    row = row_of(client.get(RESOURCES), orders)
    assert "orders.example.com/" in row.text()
    assert row.find("a", id=f"service-resource-{orders.pk}") is None


def test_another_workspaces_resource_is_not_found(admin_client, other_workspace):
    foreign = Resource.objects.create(workspace=other_workspace, name="globex")

    assert admin_client.get(edit_url(foreign), **HTMX).status_code == 404
    assert admin_client.post(edit_url(foreign), {"rules": "x.example.com"}).status_code == 404
    assert not Service.objects.exists()


# Query counts ----------------------------------------------------------------------------


def _services(actor, workspace, start: int, count: int) -> None:
    """Add `count` resources, every other one an HTTP service with two rules."""
    for n in range(start, start + count):
        resource = Resource.objects.create(workspace=workspace, name=f"svc-{n:03d}")
        if n % 2:
            guard(actor, resource, f"svc{n}.example.com/a", f"svc{n}.example.com/b")


def test_the_tab_asks_as_many_queries_for_50_resources_as_for_5(
    admin_client, admin, workspace, django_assert_num_queries
):
    _services(admin, workspace, 0, 5)
    admin_client.get(RESOURCES)  # warm up: the session
    with CaptureQueriesContext(connection) as few:
        assert admin_client.get(RESOURCES).status_code == 200

    _services(admin, workspace, 5, 45)

    with django_assert_num_queries(len(few)):
        response = admin_client.get(RESOURCES)
    assert len(parse(response).find_all("ul", class_="service-rules")) == 25


@pytest.fixture
def admin(workspace, admin_user):
    return actor_of(admin_user, workspace)
