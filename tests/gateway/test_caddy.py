"""Caddy in front of a real service with the guide's forward_auth configuration.

The Caddyfile in docs/gateways.md runs in Debian's caddy (tests/gateway/harness.py
only points it at loopback ports), asking pytest-django's live server; the service
must see Keyward's X-Keyward-* values only, never a client's, nor the token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from gateway import services as gateway_services
from tests.factories import actor_of, issue
from tests.gateway.harness import SERVER_NAME, GuardedService, guarded_by_caddy
from tokens.models import Resource


@pytest.fixture(scope="module")
def caddy(django_db_setup, live_server, tmp_path_factory):
    """Start Caddy and the recording service once for the module, asking the live server."""
    with guarded_by_caddy(
        tmp_path_factory.mktemp("caddy"), urlsplit(live_server.url).port
    ) as running:
        yield running


@pytest.fixture
def guarded(caddy) -> GuardedService:
    caddy.upstream.forget()
    return caddy


@pytest.fixture
def orders(workspace, admin_user) -> Resource:
    resource = Resource.objects.create(workspace=workspace, name="orders")
    gateway_services.service_create(
        actor=actor_of(admin_user, workspace), resource=resource, rules=[(SERVER_NAME, "/orders")]
    )
    return resource


def test_read_scope_passes_get_with_keywards_headers_not_the_clients_nor_the_token(
    guarded, orders, admin_user, workspace
):
    reader, secret = issue(admin_user, workspace, "reader", scopes=["orders:read"])
    forged = {
        "X-Keyward-Token-Id": "kwt_forged",
        "X-Keyward-Owner": "boss@example.com",
        "X-Keyward-Scopes": "orders:write",
    }

    response = guarded.request("GET", "/orders/42?expand=lines", token=secret, headers=forged)

    assert response.status == 200
    assert guarded.upstream.requests() == [("GET", "/orders/42?expand=lines")]
    [seen] = guarded.upstream.seen
    assert seen.headers.get_all("X-Keyward-Token-Id") == [reader.public_id]
    assert seen.headers.get_all("X-Keyward-Workspace") == [workspace.slug]
    assert seen.headers.get_all("X-Keyward-Scopes") == ["orders:read"]
    assert seen.headers.get_all("X-Keyward-Owner") in (None, [""])
    assert "Authorization" not in seen.headers
    assert all(secret not in value for value in seen.headers.values())


def test_refusals_reach_the_client_as_keyward_sent_them(guarded, orders, admin_user, workspace):
    _, reader = issue(admin_user, workspace, "reader", scopes=["orders:read"])

    missing = guarded.request("GET", "/orders/1")
    unknown = guarded.request("GET", "/orders/1", token="kw_" + "A" * 40)
    post = guarded.request("POST", "/orders", token=reader, body=b"{}")
    elsewhere = guarded.request("GET", "/elsewhere", token=reader)

    assert (missing.status, unknown.status, post.status, elsewhere.status) == (401, 401, 403, 403)
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="keyward"'
    assert post.json()["error"] == "insufficient_scope"
    assert elsewhere.json()["error"] == "no_matching_service"
    assert guarded.upstream.requests() == []


def test_a_client_cannot_name_another_path_to_the_check(guarded, orders, admin_user, workspace):
    _, reader = issue(admin_user, workspace, "reader", scopes=["orders:read"])
    spoofed = {"X-Original-URI": "/orders/1", "X-Original-Method": "GET"}

    response = guarded.request("DELETE", "/elsewhere", token=reader, headers=spoofed)

    assert response.status == 403
    assert guarded.upstream.requests() == []


def test_too_many_invalid_tokens_is_429_with_retry_after(guarded, orders, settings):
    settings.KEYWARD_API_AUTH_FAILURES_PER_IP = 2

    statuses = [guarded.request("GET", "/orders/1", token="kw_" + "B" * 40) for _ in range(4)]

    assert statuses[-1].status == 429
    assert int(statuses[-1].headers["Retry-After"]) > 0
    assert guarded.upstream.requests() == []
