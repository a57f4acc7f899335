"""Settings → Resources: the service's rules (Admins only, validation, the delete guard that
keeps a token from widening to every resource), and the tab with and without HTMX."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import text
from accounts.models import AuditEvent
from accounts.roles import Role
from tests.factories import HTMX, actor_of, issue, signed_in, triggers
from tests.tokens_console.conftest import errors_of, field_of, parse
from tokens.actors import Actor
from tokens.models import Resource, Token, TokenKind
from tokens.services import resources

pytestmark = pytest.mark.django_db


def url(name: str, resource: Resource | int | None = None, slug: str = "acme") -> str:
    kwargs = {"slug": slug}
    if resource is not None:
        kwargs["pk"] = resource if isinstance(resource, int) else resource.pk
    return reverse(f"tokens:{name}", kwargs=kwargs)


def state() -> tuple:
    """Return a snapshot of everything the resource views may change."""
    return (
        list(Resource.objects.order_by("pk").values_list("pk", "name", "kind", "description")),
        list(Token.resources.through.objects.order_by("pk").values_list("token_id", "resource_id")),
        AuditEvent.objects.count(),
    )


def limited(user, workspace, name: str, *to: Resource, **fields) -> Token:
    """Issue a token limited to the resources `to`."""
    return issue(user, workspace, name, resource_ids=[r.pk for r in to], **fields)[0]


def rows(response) -> dict:
    """Return the resource rows of a response by resource name."""
    return {
        tr.find("span", class_="strong").text(): tr
        for tr in parse(response).find_all("tr")
        if tr.attrs.get("id", "").startswith("resource-")
    }


@pytest.fixture
def admin(workspace, admin_user) -> Actor:
    return actor_of(admin_user, workspace)


@pytest.fixture
def orders(workspace) -> Resource:
    return Resource.objects.create(
        workspace=workspace, name="orders-db", kind="database", description="Orders"
    )


@pytest.fixture
def billing(workspace) -> Resource:
    return Resource.objects.create(workspace=workspace, name="billing-app", kind="application")


@pytest.fixture
def foreign_resource(other_workspace) -> Resource:
    return Resource.objects.create(workspace=other_workspace, name="globex-db")


# Service: who may change resources ----------------------------------------------------------


def test_an_admin_creates_a_resource_and_it_is_audited(workspace, admin, admin_user):
    resource = resources.resource_create(
        actor=admin, workspace=workspace, name="  orders-db ", kind="database", description="x"
    )

    assert (resource.workspace, resource.name, resource.kind) == (
        workspace,
        "orders-db",
        "database",
    )
    event = AuditEvent.objects.get(action="resource.created")
    assert event.workspace == workspace
    assert event.actor_user == admin_user
    assert (event.target_type, event.target_id) == ("resource", str(resource.pk))
    assert event.details["name"] == "orders-db"


@pytest.mark.parametrize("who", ["manager_user", "member_user"])
@pytest.mark.parametrize("action", ["create", "rename", "delete"])
def test_only_admins_may_change_resources(request, workspace, orders, who, action):
    actor = actor_of(request.getfixturevalue(who), workspace)
    before = state()
    calls = {
        "create": lambda: resources.resource_create(actor=actor, workspace=workspace, name="new"),
        "rename": lambda: resources.resource_rename(actor=actor, resource=orders, name="new"),
        "delete": lambda: resources.resource_delete(actor=actor, resource=orders),
    }

    with pytest.raises(PermissionDenied):
        calls[action]()

    assert state() == before


def test_a_workspace_token_acting_through_the_api_may_not_change_resources(workspace, orders):
    token_actor = Actor(role=Role.MANAGER, scope_cap=frozenset({"tokens:write"}))

    with pytest.raises(PermissionDenied):
        resources.resource_delete(actor=token_actor, resource=orders)
    assert Resource.objects.filter(pk=orders.pk).exists()


def test_an_operator_may_change_any_workspaces_resources(workspace, orders, admin_user):
    operator = Actor.operator(admin_user)

    resources.resource_rename(actor=operator, resource=orders, name="orders-primary")
    resources.resource_delete(actor=operator, resource=orders)

    assert not Resource.objects.filter(pk=orders.pk).exists()
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        "resource.renamed",
        "resource.deleted",
    }


# Service: validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "code"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "   "}, "name", "required"),
        ({"name": "x" * 101}, "name", "too_long"),
        ({"name": "bad\x00name"}, "name", "invalid"),
        ({"name": "ok", "kind": "k" * 51}, "kind", "too_long"),
        ({"name": "ok", "description": "d" * 256}, "description", "too_long"),
    ],
)
def test_bad_input_is_refused_by_field(workspace, admin, fields, field, code):
    before = state()

    with pytest.raises(ValidationError) as caught:
        resources.resource_create(actor=admin, workspace=workspace, **fields)

    assert list(caught.value.error_dict) == [field]
    assert caught.value.error_dict[field][0].code == code
    assert state() == before


def test_a_name_of_100_characters_is_accepted(workspace, admin):
    assert resources.resource_create(actor=admin, workspace=workspace, name="x" * 100).pk


@pytest.mark.parametrize("name", ["orders-db", "ORDERS-DB", " orders-db "])
def test_names_are_unique_in_the_workspace_ignoring_case(workspace, admin, orders, name):
    with pytest.raises(ValidationError) as caught:
        resources.resource_create(actor=admin, workspace=workspace, name=name)

    error = caught.value.error_dict["name"][0]
    assert error.code == "duplicate_name"
    assert "already has a resource named" in error.message
    assert Resource.objects.filter(workspace=workspace).count() == 1


def test_another_workspace_may_use_the_same_name(other_workspace, outsider, orders):
    actor = actor_of(outsider, other_workspace)

    resource = resources.resource_create(actor=actor, workspace=other_workspace, name="orders-db")

    assert resource.workspace == other_workspace


def test_a_concurrent_duplicate_is_reported_as_a_duplicate_name(workspace, admin, orders):
    # Both requests passed the check before either inserted: the unique constraint decides.
    with (
        mock.patch.object(resources, "_name_taken", return_value=False),
        pytest.raises(ValidationError) as caught,
    ):
        resources.resource_create(actor=admin, workspace=workspace, name="orders-db")

    assert caught.value.error_dict["name"][0].code == "duplicate_name"
    assert not AuditEvent.objects.filter(action="resource.created").exists()


def test_a_concurrent_duplicate_rename_leaves_the_resource_as_it_was(
    workspace, admin, orders, billing
):
    with (
        mock.patch.object(resources, "_name_taken", return_value=False),
        pytest.raises(ValidationError),
    ):
        resources.resource_rename(actor=admin, resource=billing, name="orders-db", kind="x")

    assert (billing.name, billing.kind) == ("billing-app", "application")
    billing.refresh_from_db()
    assert billing.name == "billing-app"


# Service: rename ---------------------------------------------------------------------------


def test_renaming_keeps_the_tokens_limited_to_it_and_is_audited(
    workspace, admin, manager_user, orders
):
    token = limited(manager_user, workspace, "ci", orders)

    resources.resource_rename(
        actor=admin, resource=orders, name="orders-primary", kind="postgres", description=""
    )

    orders.refresh_from_db()
    assert (orders.name, orders.kind, orders.description) == ("orders-primary", "postgres", "")
    assert list(token.resources.all()) == [orders]
    event = AuditEvent.objects.get(action="resource.renamed")
    assert event.details["from"] == "orders-db"
    assert event.details["to"] == "orders-primary"
    assert event.details["kind_changed"] is True
    assert event.details["description_changed"] is True


def test_renaming_to_the_same_values_changes_nothing(admin, orders):
    resources.resource_rename(actor=admin, resource=orders, name="orders-db")

    assert not AuditEvent.objects.exists()


def test_a_resource_may_change_the_case_of_its_own_name(admin, orders):
    resources.resource_rename(actor=admin, resource=orders, name="Orders-DB")

    orders.refresh_from_db()
    assert orders.name == "Orders-DB"


def test_renaming_to_another_resources_name_is_refused(admin, orders, billing):
    with pytest.raises(ValidationError) as caught:
        resources.resource_rename(actor=admin, resource=billing, name="orders-db")

    assert caught.value.error_dict["name"][0].code == "duplicate_name"
    billing.refresh_from_db()
    assert billing.name == "billing-app"


# Service: delete and the widening guard ------------------------------------------------------


def test_deleting_an_unused_resource_is_audited(workspace, admin, orders):
    pk = orders.pk

    resources.resource_delete(actor=admin, resource=orders)

    assert not Resource.objects.filter(pk=pk).exists()
    event = AuditEvent.objects.get(action="resource.deleted")
    assert (event.target_id, event.target_label) == (str(pk), "orders-db")
    assert event.details["removed_from_tokens"] == []


def test_deleting_the_only_resource_of_an_active_token_is_refused(
    workspace, admin, manager_user, orders
):
    token = limited(manager_user, workspace, "ci-orders", orders)
    before = state()

    with pytest.raises(ValidationError) as caught:
        resources.resource_delete(actor=admin, resource=orders)

    assert caught.value.code == "in_use"
    message = caught.value.messages[0]
    assert "1 active token is limited to “orders-db” alone" in message
    assert "ci-orders" in message
    assert "Revoke that token first" in message
    assert state() == before
    assert list(token.resources.all()) == [orders]


def test_the_refusal_counts_every_blocking_token(workspace, admin, manager_user, orders):
    for n in range(7):
        limited(manager_user, workspace, f"ci-{n}", orders)

    with pytest.raises(ValidationError) as caught:
        resources.resource_delete(actor=admin, resource=orders)

    message = caught.value.messages[0]
    assert "7 active tokens are limited" in message
    assert "and 2 more" in message
    assert "Revoke these tokens first" in message


def test_a_token_in_its_rotation_grace_period_still_blocks(workspace, admin, manager_user, orders):
    token = limited(manager_user, workspace, "ci", orders)
    Token.objects.filter(pk=token.pk).update(revoked_at=timezone.now() + timedelta(hours=1))

    with pytest.raises(ValidationError):
        resources.resource_delete(actor=admin, resource=orders)


def test_tokens_limited_to_other_resources_too_lose_it_and_stay_limited(
    workspace, admin, manager_user, orders, billing
):
    both = limited(manager_user, workspace, "both", orders, billing)
    unrelated = limited(manager_user, workspace, "billing-only", billing)

    resources.resource_delete(actor=admin, resource=orders)

    assert list(both.resources.all()) == [billing]
    assert list(unrelated.resources.all()) == [billing]
    event = AuditEvent.objects.get(action="resource.deleted")
    assert event.details["removed_from_tokens"] == [both.public_id]


@pytest.mark.parametrize("ended", ["revoked", "expired"])
def test_tokens_that_no_longer_work_do_not_block(workspace, admin, manager_user, orders, ended):
    token = limited(manager_user, workspace, "old", orders)
    past = timezone.now() - timedelta(minutes=1)
    field = "revoked_at" if ended == "revoked" else "expires_at"
    Token.objects.filter(pk=token.pk).update(**{field: past})

    resources.resource_delete(actor=admin, resource=orders)

    assert not Resource.objects.filter(pk=orders.pk).exists()
    assert not token.resources.exists()


def test_tokens_using_lists_the_active_ones_blocking_first(
    workspace, admin, manager_user, orders, billing
):
    limited(manager_user, workspace, "a-both", orders, billing)
    limited(manager_user, workspace, "z-alone", orders)
    revoked = limited(manager_user, workspace, "b-revoked", orders)
    Token.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())

    using = [(t.name, t.blocks_deletion) for t in resources.tokens_using(orders)]

    assert using == [("z-alone", True), ("a-both", False)]


def test_usage_counts_active_tokens_a_member_may_see(
    workspace, admin, admin_user, manager_user, member_user, orders, billing
):
    limited(manager_user, workspace, "ws", orders)
    limited(admin_user, workspace, "admin-own", orders, kind=TokenKind.PERSONAL)
    limited(member_user, workspace, "member-own", orders, kind=TokenKind.PERSONAL)
    gone = limited(manager_user, workspace, "gone", orders)
    Token.objects.filter(pk=gone.pk).update(revoked_at=timezone.now())

    for_admin = {r.name: r.active_tokens for r in resources.resources_with_usage(admin, workspace)}
    member = actor_of(member_user, workspace)
    for_member = {
        r.name: r.active_tokens for r in resources.resources_with_usage(member, workspace)
    }

    assert for_admin == {"orders-db": 3, "billing-app": 0}
    assert for_member == {"orders-db": 2, "billing-app": 0}


# Views: the list -----------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_the_list_shows_each_resource_with_its_usage(
    admin_client, workspace, manager_user, orders, billing, htmx
):
    limited(manager_user, workspace, "ci", orders)

    response = admin_client.get(url("resources"), **(HTMX if htmx else {}))

    assert response.status_code == 200
    found = rows(response)
    assert list(found) == ["billing-app", "orders-db"]
    cells = [td.text() for td in found["orders-db"].find_all("td")]
    assert cells[:4] == ["orders-db", "database", "Orders", "1 active token"]
    assert ("<html" in response.content.decode()) is not htmx


def test_the_full_page_is_the_resources_tab_of_settings(admin_client, orders):
    dom = parse(admin_client.get(url("resources")))

    current = dom.find("a", **{"aria-current": "page"}, href=url("resources"))
    assert current is not None and current.text() == "Resources"


def test_admins_see_the_buttons_with_accessible_names(admin_client, orders):
    dom = parse(admin_client.get(url("resources")))

    assert dom.find("a", id="add-resource").attrs["href"] == url("resource_create")
    rename = dom.find("a", id=f"rename-resource-{orders.pk}")
    delete = dom.find("a", id=f"delete-resource-{orders.pk}")
    assert rename.attrs["aria-label"] == "Rename orders-db"
    assert rename.attrs["hx-target"] == "#modal-content"
    assert delete.attrs["aria-label"] == "Delete orders-db"
    assert delete.attrs["href"] == url("resource_delete", orders)
    assert dom.find("div", role="note") is None


@pytest.mark.parametrize("who", ["manager_client", "member_client"])
def test_others_read_the_list_without_buttons(request, orders, who):
    response = request.getfixturevalue(who).get(url("resources"))
    page = response.content.decode()

    assert response.status_code == 200
    assert "orders-db" in page
    assert "Only Admins can add, rename or delete resources" in page
    assert url("resource_create") not in page
    assert url("resource_rename", orders) not in page
    assert url("resource_delete", orders) not in page


@pytest.mark.parametrize("who", ["admin_client", "member_client"])
def test_the_empty_state_says_what_resources_are_for(request, workspace, who):
    dom = parse(request.getfixturevalue(who).get(url("resources")))

    empty = dom.find("div", class_="empty-state")
    assert "limit each token to the ones it needs" in empty.text()
    has_button = empty.find("a", href=url("resource_create")) is not None
    assert has_button is (who == "admin_client")


def _resources_with_tokens(workspace, users, start: int, count: int) -> None:
    """Add `count` resources, each used by one token of either kind by one of `users`."""
    created = Resource.objects.bulk_create(
        Resource(workspace=workspace, name=f"res-{n:03d}", kind="database")
        for n in range(start, start + count)
    )
    for n, resource in enumerate(created, start=start):
        user = users[n % len(users)]
        kind = TokenKind.PERSONAL if n % 2 else TokenKind.WORKSPACE
        limited(user, workspace, f"tok-{n}", resource, kind=kind)


@pytest.mark.parametrize("who", ["admin_user", "member_user"])
def test_the_list_query_count_does_not_grow_with_resources(
    request, workspace, admin_user, manager_user, member_user, django_assert_num_queries, who
):
    users = [admin_user, manager_user]  # members may not create personal tokens by default
    _resources_with_tokens(workspace, users, 0, 5)
    client = signed_in(request.getfixturevalue(who))
    client.get(url("resources"))  # warm up: the session
    with CaptureQueriesContext(connection) as few:
        assert len(rows(client.get(url("resources")))) == 5

    _resources_with_tokens(workspace, users, 5, 45)

    with django_assert_num_queries(len(few)):
        response = client.get(url("resources"))
    assert len(rows(response)) == 50


# Views: 403 and 404 --------------------------------------------------------------------------


def _requests(resource: Resource):
    return [
        ("get", url("resource_create"), {}),
        ("post", url("resource_create"), {"name": "new"}),
        ("get", url("resource_rename", resource), {}),
        ("post", url("resource_rename", resource), {"name": "new"}),
        ("get", url("resource_delete", resource), {}),
        ("post", url("resource_delete", resource), {}),
    ]


@pytest.mark.parametrize("who", ["manager_client", "member_client"])
@pytest.mark.parametrize("htmx", [False, True])
def test_managers_and_members_may_not_change_resources(request, orders, who, htmx):
    client = request.getfixturevalue(who)
    before = state()

    for method, target, data in _requests(orders):
        response = getattr(client, method)(target, data, **(HTMX if htmx else {}))
        assert response.status_code == 403, (method, target)

    assert state() == before


def test_outsiders_get_404_for_everything(outsider, orders):
    client = signed_in(outsider)
    before = state()

    assert client.get(url("resources")).status_code == 404
    for method, target, data in _requests(orders):
        assert getattr(client, method)(target, data).status_code == 404, (method, target)

    assert state() == before


def test_another_workspaces_resource_is_not_found(admin_client, foreign_resource):
    before = state()

    for name in ("resource_rename", "resource_delete"):
        assert admin_client.get(url(name, foreign_resource)).status_code == 404
        assert admin_client.post(url(name, foreign_resource), {"name": "x"}).status_code == 404

    assert state() == before


def test_signed_out_visitors_are_sent_to_sign_in(client, workspace):
    response = client.get(url("resources"))

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]


# Views: create -------------------------------------------------------------------------------


def test_the_add_dialog_loads_into_the_modal(admin_client, workspace):
    response = admin_client.get(url("resource_create"), **HTMX)
    dom = parse(response)

    assert "<html" not in response.content.decode()
    assert dom.find("h2", id="modal-title").text() == "Add resource"
    form = dom.find("form")
    assert form.attrs["hx-post"] == url("resource_create")
    assert form.attrs["hx-target"] == "#modal-content"
    assert form.find("input", name="csrfmiddlewaretoken") is not None


def test_without_javascript_the_add_dialog_is_in_the_page(admin_client, workspace):
    dom = parse(admin_client.get(url("resource_create")))

    panel = dom.find("div", class_="panel-dialog")
    assert panel.find("form").attrs["action"] == url("resource_create")
    assert dom.find("div", id="resource-list") is not None


def test_adding_with_htmx_refreshes_the_list_and_closes_the_modal(admin_client, workspace):
    response = admin_client.post(
        url("resource_create"),
        {"name": "orders-db", "kind": "database", "description": "Orders"},
        **HTMX,
    )

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#resource-list"
    assert response["HX-Reswap"] == "outerHTML"
    events = triggers(response)
    assert "modal:close" in events
    assert events["toast"]["message"] == "Resource orders-db added."
    assert list(rows(response)) == ["orders-db"]
    assert Resource.objects.get().kind == "database"


def test_adding_without_javascript_redirects_with_a_message(admin_client, workspace):
    response = admin_client.post(url("resource_create"), {"name": "orders-db", "kind": ""})

    assert response.status_code == 302
    assert response["Location"] == url("resources")
    page = admin_client.get(response["Location"])
    assert "Resource orders-db added." in parse(page).find("div", id="toasts").text()
    assert "orders-db" in rows(page)


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "Give the resource a name."),
        ("ORDERS-DB", "already has a resource named “ORDERS-DB”"),
        ("bad\x01name", text.NAME_MESSAGE),
    ],
)
def test_errors_show_next_to_the_name_and_keep_what_was_typed(
    admin_client, orders, htmx, name, expected
):
    before = state()

    response = admin_client.post(
        url("resource_create"),
        {"name": name, "kind": "cache", "description": "Sessions"},
        **(HTMX if htmx else {}),
    )

    assert response.status_code == 200
    assert "HX-Trigger" not in response
    dom = parse(response)
    name_field = field_of(dom, "name")
    assert expected in errors_of(name_field)
    assert name_field.find("input", name="name").attrs.get("aria-invalid") == "true"
    assert dom.find("input", name="kind").attrs["value"] == "cache"
    assert dom.find("input", name="description").attrs["value"] == "Sessions"
    if name.strip():
        assert dom.find("input", name="name").attrs["value"] == name
    assert state() == before


# Views: rename --------------------------------------------------------------------------------


def test_the_rename_dialog_is_filled_in(admin_client, orders):
    dom = parse(admin_client.get(url("resource_rename", orders), **HTMX))

    assert dom.find("input", name="name").attrs["value"] == "orders-db"
    assert dom.find("input", name="kind").attrs["value"] == "database"
    assert dom.find("input", name="description").attrs["value"] == "Orders"


def test_renaming_with_htmx_updates_the_row_in_place(admin_client, workspace, manager_user, orders):
    limited(manager_user, workspace, "ci", orders)

    response = admin_client.post(
        url("resource_rename", orders),
        {"name": "orders-primary", "kind": "database", "description": "Orders"},
        **HTMX,
    )

    assert response["HX-Retarget"] == f"#resource-{orders.pk}"
    assert response["HX-Reswap"] == "outerHTML"
    assert triggers(response)["toast"]["message"] == "Resource orders-db renamed to orders-primary."
    assert "1 active token" in rows(response)["orders-primary"].text()


def test_renaming_without_javascript_redirects_with_a_message(admin_client, orders):
    response = admin_client.post(url("resource_rename", orders), {"name": "orders-primary"})

    assert response.status_code == 302
    page = admin_client.get(response["Location"])
    assert "renamed to orders-primary" in parse(page).find("div", id="toasts").text()
    orders.refresh_from_db()
    assert (orders.name, orders.kind) == ("orders-primary", "")


@pytest.mark.parametrize("htmx", [False, True])
def test_a_taken_name_shows_next_to_the_field_on_rename(admin_client, orders, billing, htmx):
    response = admin_client.post(
        url("resource_rename", billing),
        {"name": "orders-db", "kind": "application", "description": "typed"},
        **(HTMX if htmx else {}),
    )

    dom = parse(response)
    assert "already has a resource named" in errors_of(field_of(dom, "name"))
    assert dom.find("input", name="name").attrs["value"] == "orders-db"
    assert dom.find("input", name="description").attrs["value"] == "typed"
    billing.refresh_from_db()
    assert billing.name == "billing-app"


# Views: delete --------------------------------------------------------------------------------


def test_the_delete_dialog_lists_the_active_tokens_using_it(
    admin_client, workspace, manager_user, orders, billing
):
    limited(manager_user, workspace, "ci-both", orders, billing)
    old = limited(manager_user, workspace, "ci-old", orders)
    Token.objects.filter(pk=old.pk).update(revoked_at=timezone.now())

    dom = parse(admin_client.get(url("resource_delete", orders), **HTMX))

    items = [li.text() for li in dom.find("ul").find_all("li")]
    assert items == ["ci-both Active"]
    assert dom.find("button", type="submit").text() == "Delete resource"
    assert dom.find("form").attrs["hx-post"] == url("resource_delete", orders)


def test_a_blocked_delete_says_which_tokens_block_it_and_offers_no_button(
    admin_client, workspace, manager_user, orders, billing
):
    limited(manager_user, workspace, "ci-both", orders, billing)
    limited(manager_user, workspace, "ci-orders", orders)

    for headers in (HTMX, {}):
        dom = parse(admin_client.get(url("resource_delete", orders), **headers))
        alert = dom.find("div", role="alert")
        assert "1 active token is limited to it alone" in alert.text()
        assert "would reach every resource" in alert.text()
        listed = dom.find("ul", class_="event-list resource-tokens").find_all("li")
        assert [li.text() for li in listed] == [
            "ci-orders Active limited to orders-db alone: blocks deletion",
            "ci-both Active",
        ]
        assert not [b for b in dom.find_all("button") if b.text() == "Delete resource"]


@pytest.mark.parametrize("htmx", [False, True])
def test_posting_a_blocked_delete_changes_nothing(
    admin_client, workspace, manager_user, orders, htmx
):
    limited(manager_user, workspace, "ci-orders", orders)
    before = state()

    response = admin_client.post(url("resource_delete", orders), **(HTMX if htmx else {}))

    assert response.status_code == 200
    assert "HX-Trigger" not in response
    assert "limited to it alone" in parse(response).find("div", role="alert").text()
    assert state() == before


def test_deleting_with_htmx_refreshes_the_list(
    admin_client, workspace, manager_user, orders, billing
):
    token = limited(manager_user, workspace, "ci-both", orders, billing)

    response = admin_client.post(url("resource_delete", orders), **HTMX)

    assert response["HX-Retarget"] == "#resource-list"
    events = triggers(response)
    assert "modal:close" in events
    assert events["toast"]["message"] == "Resource orders-db deleted."
    assert list(rows(response)) == ["billing-app"]
    assert list(token.resources.all()) == [billing]


def test_deleting_without_javascript_redirects_with_a_message(admin_client, orders):
    response = admin_client.post(url("resource_delete", orders))

    assert response.status_code == 302
    page = admin_client.get(response["Location"])
    assert "Resource orders-db deleted." in parse(page).find("div", id="toasts").text()
    assert not Resource.objects.exists()


def test_deleting_the_last_resource_shows_the_empty_state(admin_client, orders):
    response = admin_client.post(url("resource_delete", orders), **HTMX)

    assert parse(response).find("div", class_="empty-state") is not None


# CSRF, CSP, escaping -----------------------------------------------------------------------


def _csrf_header(client) -> str:
    page = client.get(url("resources")).content.decode()
    return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("resource_create", {"name": "new"}),
        ("resource_rename", {"name": "renamed"}),
        ("resource_delete", {}),
    ],
)
def test_posts_without_the_csrf_token_are_refused(admin_user, orders, action, data):
    client = signed_in(admin_user, enforce_csrf_checks=True)
    target = url(action, None if action == "resource_create" else orders)
    header = _csrf_header(client)
    before = state()

    assert client.post(target, data, **HTMX).status_code == 403
    assert client.post(target, data).status_code == 403
    assert state() == before
    accepted = client.post(target, data, **HTMX, HTTP_X_CSRFTOKEN=header)
    assert accepted.status_code == 200
    assert state() != before


def test_a_plain_form_post_carries_its_csrf_field(admin_user, orders):
    client = signed_in(admin_user, enforce_csrf_checks=True)
    form = parse(client.get(url("resource_rename", orders))).find(
        "form", action=url("resource_rename", orders)
    )
    token = form.find("input", name="csrfmiddlewaretoken").attrs["value"]

    response = client.post(
        url("resource_rename", orders), {"name": "renamed", "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    orders.refresh_from_db()
    assert orders.name == "renamed"


@pytest.mark.parametrize("page", ["resources", "resource_create", "rename", "delete"])
def test_pages_carry_a_strict_csp_without_inline_code(
    admin_client, workspace, manager_user, orders, page
):
    limited(manager_user, workspace, "ci", orders)
    target = {
        "rename": url("resource_rename", orders),
        "delete": url("resource_delete", orders),
    }.get(page) or url(page)

    response = admin_client.get(target)

    header = response["Content-Security-Policy"]
    assert "unsafe-inline" not in header
    assert "unsafe-eval" not in header
    nonce = re.search(r"'nonce-([^']+)'", header).group(1)
    body = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", body):
        assert f'nonce="{nonce}"' in tag
        assert " src=" in tag
    assert not re.search(r"\sstyle=", body)
    assert "hx-on" not in body


HOSTILE = '<img src=x onerror="alert(1)">'


def test_names_are_escaped(admin_client, workspace, admin):
    resource = resources.resource_create(
        actor=admin, workspace=workspace, name=HOSTILE, kind=HOSTILE, description=HOSTILE
    )

    for target in (url("resources"), url("resource_delete", resource)):
        body = admin_client.get(target).content.decode()
        assert HOSTILE not in body
        assert "&lt;img src=x" in body


def test_a_resource_used_only_by_ended_tokens_is_deleted_without_a_list(
    admin_client, workspace, manager_user, orders
):
    old = limited(manager_user, workspace, "ci-old", orders)
    Token.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(days=1))

    dom = parse(admin_client.get(url("resource_delete", orders), **HTMX))

    assert dom.find("ul", class_="event-list resource-tokens") is None
    assert "No active token is limited to it." in dom.text()
