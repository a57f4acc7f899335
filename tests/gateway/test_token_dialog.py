"""The Add token dialog and a service's scopes (gateway/scopes.py, tokens.scopes).

The Add token dialog lists them under the service's name and its summary says
what they allow in the service's terms; rotating keeps them; the list names them.
(tests/gateway/test_scopes.py covers the catalogue, roles and the API.)
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gateway import services
from tests.factories import HTMX, actor_of, issue, signed_in
from tests.tokens_console.conftest import parse
from tokens import services as token_services
from tokens.display import scopes_in_words
from tokens.models import Token
from tokens.services.resources import resource_create

pytestmark = pytest.mark.django_db

CREATE = reverse("tokens:create", kwargs={"slug": "acme"})


@pytest.fixture
def orders(admin_actor, workspace):
    resource = resource_create(actor=admin_actor, workspace=workspace, name="Orders API")
    return services.service_create(
        actor=admin_actor,
        resource=resource,
        slug="orders",
        rules=[("orders.example.com", "/")],
        method_scopes={"GET": "read", "HEAD": "read", "OPTIONS": "read", "PUT": "write"},
    )


def test_a_token_may_hold_its_workspaces_service_scopes(admin_user, workspace, orders):
    token, _ = issue(admin_user, workspace, "svc", scopes=["orders:read", "tokens:read"])

    assert token.scopes == ["tokens:read", "orders:read"]


def test_a_scope_no_service_has_is_unknown(admin_user, workspace, orders):
    with pytest.raises(ValidationError) as refused:
        issue(admin_user, workspace, "svc", scopes=["ghost:read"])

    assert refused.value.message_dict == {"scopes": ["Unknown scope: ghost:read."]}


def test_rotating_keeps_the_service_scopes(admin_user, workspace, orders):
    token, _ = issue(admin_user, workspace, "svc", scopes=["orders:read", "orders:write"])

    rotated, _ = token_services.token_rotate(actor=actor_of(admin_user, workspace), token=token)

    assert rotated.scopes == ["orders:read", "orders:write"]


def test_the_list_names_a_service_scope(admin_user, workspace, orders):
    assert scopes_in_words(["tokens:read", "orders:read"]) == "Read tokens, orders:read"


def test_the_add_token_dialog_lists_them_under_the_service(admin_user, orders):
    dom = parse(signed_in(admin_user).get(CREATE, **HTMX))

    group = dom.find("p", class_="scope-group")
    assert group.text() == "Orders API HTTP service"
    read = dom.find("input", name="scopes", value="orders:read")
    write = dom.find("input", name="scopes", value="orders:write")
    assert read.attrs["data-summary"] == "call Orders API with GET, HEAD, OPTIONS"
    assert write.attrs["data-summary"] == "call Orders API with any other method"
    label = read.closest(lambda node: node.tag == "label").text()
    assert "Read Orders API" in label
    assert "methods that read (GET, HEAD, OPTIONS)" in label


def test_the_dialog_marks_write_beyond_a_members_role(member_user, orders):
    dom = parse(signed_in(member_user).get(CREATE, **HTMX))

    assert "disabled" not in dom.find("input", name="scopes", value="orders:read").attrs
    assert "disabled" in dom.find("input", name="scopes", value="orders:write").attrs


def test_a_token_created_in_the_dialog_holds_a_service_scope(admin_user, orders):
    response = signed_in(admin_user).post(
        CREATE,
        {
            "name": "orders-reader",
            "kind": "workspace",
            "preset": "custom",
            "scopes": ["orders:read"],
            "expiration": "30",
        },
        **HTMX,
    )

    assert response.status_code == 200
    assert Token.objects.get(name="orders-reader").scopes == ["orders:read"]


def test_the_dialog_asks_as_many_queries_for_12_services_as_for_2(
    admin_user, admin_actor, workspace, django_assert_num_queries
):
    def add_services(start: int, count: int) -> None:
        for n in range(start, start + count):
            resource = resource_create(actor=admin_actor, workspace=workspace, name=f"svc-{n}")
            services.service_create(
                actor=admin_actor, resource=resource, rules=[(f"svc{n}.example.com", "/")]
            )

    client = signed_in(admin_user)
    add_services(0, 2)
    client.get(CREATE, **HTMX)  # warm up: the session
    with CaptureQueriesContext(connection) as few:
        assert len(parse(client.get(CREATE, **HTMX)).find_all("p", class_="scope-group")) == 2

    add_services(2, 10)

    with django_assert_num_queries(len(few)):
        response = client.get(CREATE, **HTMX)
    assert len(parse(response).find_all("p", class_="scope-group")) == 12
