"""nginx in front of a real service, asking a running Keyward about each request.

deploy/nginx/gateway-example.conf (the configuration docs/gateways.md documents) is
rendered for free loopback ports and run by Debian's nginx, in front of a small
service that records what it receives (tests/gateway/harness.py). Keyward is
pytest-django's live server on the test database, so this runs on SQLite and
PostgreSQL alike. Each test checks what the client got and what the service saw:
only allowed requests, with the headers Keyward set, never the token.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest

from gateway import services as gateway_services
from tests.factories import actor_of, issue
from tests.gateway.harness import SERVER_NAME, GuardedService, guarded_service
from tokens import services as token_services
from tokens.models import Resource

# A token-shaped value that no token has, and values that are not token-shaped at all.
UNKNOWN = "kw_" + "A" * 40


@pytest.fixture(scope="module")
def nginx(django_db_setup, live_server, tmp_path_factory):
    """Start nginx and the recording service once for the module, asking the live server.

    django_db_setup first: the live server must start on the set-up test database.
    """
    port = urlsplit(live_server.url).port
    workdir = tmp_path_factory.mktemp("gateway")
    with guarded_service(workdir, f"http://127.0.0.1:{port}") as running:
        yield running


@pytest.fixture
def guarded(nginx, settings) -> GuardedService:
    """Return the guarded service, with nothing recorded yet."""
    # nginx names Keyward by the address it reaches it on.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "127.0.0.1"]
    nginx.upstream.forget()
    return nginx


@pytest.fixture
def admin(workspace, admin_user):
    return actor_of(admin_user, workspace)


def _service(admin, workspace, name: str, prefix: str) -> Resource:
    resource = Resource.objects.create(workspace=workspace, name=name)
    gateway_services.service_create(actor=admin, resource=resource, rules=[(SERVER_NAME, prefix)])
    return resource


@pytest.fixture
def orders(admin, workspace) -> Resource:
    """The service `orders` at orders.test/orders: scopes orders:read and orders:write."""
    return _service(admin, workspace, "orders", "/orders")


@pytest.fixture
def billing(admin, workspace) -> Resource:
    """The service `billing` at orders.test/billing, on the same host."""
    return _service(admin, workspace, "billing", "/billing")


def token(user, workspace, name: str, *scopes: str, **fields) -> tuple:
    return issue(user, workspace, name, scopes=scopes, **fields)


def assert_never_saw_a_token(guarded: GuardedService, *secrets: str) -> None:
    for request in guarded.upstream.seen:
        assert "Authorization" not in request.headers
        for name, value in request.headers.items():
            for secret in secrets:
                assert secret not in value, name


def test_keyward_unreachable_refuses_with_503_and_the_service_sees_nothing(tmp_path):
    # A port held bound and never listening refuses every connection, and no server the
    # test starts next can take it (a port merely found free once could be the upstream's).
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{held.getsockname()[1]}"
        with guarded_service(tmp_path, nowhere) as service:
            response = service.request("GET", "/orders/1", token=UNKNOWN)

            assert response.status == 503
            assert service.upstream.requests() == []


def test_without_a_token_the_client_gets_401_with_a_challenge(guarded, orders):
    response = guarded.request("GET", "/orders/1")

    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert guarded.upstream.requests() == []


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {UNKNOWN}", "Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "kw_" + "B" * 40],
)
def test_a_malformed_or_unknown_token_is_401(guarded, orders, authorization):
    response = guarded.request("GET", "/orders/1", headers={"Authorization": authorization})

    assert response.status == 401
    assert guarded.upstream.requests() == []


def test_a_revoked_token_is_401(guarded, orders, admin, admin_user, workspace):
    revoked, secret = token(admin_user, workspace, "old", "orders:read")
    token_services.token_revoke(actor=admin, token=revoked)

    response = guarded.request("GET", "/orders/1", token=secret)

    assert response.status == 401
    assert guarded.upstream.requests() == []


def test_read_scope_passes_get_and_head_with_trusted_headers_and_without_the_token(
    guarded, orders, admin_user, workspace
):
    reader, secret = token(admin_user, workspace, "reader", "orders:read")

    got = guarded.request("GET", "/orders/42?expand=lines", token=secret)
    head = guarded.request("HEAD", "/orders", token=secret)

    assert (got.status, head.status) == (200, 200)
    assert got.body == b"served by the guarded service\n"
    assert guarded.upstream.requests() == [("GET", "/orders/42?expand=lines"), ("HEAD", "/orders")]
    seen = guarded.upstream.seen[0].headers
    assert seen["X-Keyward-Token-Id"] == reader.public_id
    assert seen["X-Keyward-Workspace"] == workspace.slug
    assert "orders:read" in seen["X-Keyward-Scopes"].split()
    assert seen["Host"] == SERVER_NAME
    assert_never_saw_a_token(guarded, secret)


def test_read_scope_may_not_post_and_write_scope_may(guarded, orders, admin_user, workspace):
    _, reader = token(admin_user, workspace, "reader", "orders:read")
    _, writer = token(admin_user, workspace, "writer", "orders:read", "orders:write")

    refused = guarded.request("POST", "/orders", token=reader, body=b'{"qty": 1}')
    allowed = guarded.request("POST", "/orders", token=writer, body=b'{"qty": 2}')
    deleted = guarded.request("DELETE", "/orders/7", token=writer)

    assert (refused.status, allowed.status, deleted.status) == (403, 200, 200)
    assert guarded.upstream.requests() == [("POST", "/orders"), ("DELETE", "/orders/7")]
    assert guarded.upstream.seen[0].body == b'{"qty": 2}'
    assert_never_saw_a_token(guarded, reader, writer)


def test_a_token_without_the_services_scope_is_403(guarded, orders, billing, admin_user, workspace):
    _, secret = token(admin_user, workspace, "billing-reader", "billing:read")

    assert guarded.request("GET", "/orders/1", token=secret).status == 403
    assert guarded.request("GET", "/billing/1", token=secret).status == 200
    assert guarded.upstream.requests() == [("GET", "/billing/1")]


def test_a_token_limited_to_another_resource_is_403(
    guarded, orders, billing, admin_user, workspace
):
    _, secret = token(
        admin_user, workspace, "billing-only", "orders:read", "billing:read",
        resource_ids=[billing.pk],
    )  # fmt: skip

    assert guarded.request("GET", "/orders/1", token=secret).status == 403
    assert guarded.request("GET", "/billing/1", token=secret).status == 200
    assert guarded.upstream.requests() == [("GET", "/billing/1")]


@pytest.mark.parametrize("path", ["/", "/elsewhere", "/ordersarchive/1", "/orders-old"])
def test_a_path_outside_every_service_is_403(guarded, orders, admin_user, workspace, path):
    _, secret = token(admin_user, workspace, "reader", "orders:read", "orders:write")

    assert guarded.request("GET", path, token=secret).status == 403
    assert guarded.upstream.requests() == []


@pytest.mark.parametrize(
    "path",
    [
        "/billing/../orders/1",
        "/billing/%2e%2e/orders/1",
        "/billing/%2E%2E/orders/1",
        "/billing/..%2forders/1",
        "/billing/%252e%252e/orders/1",
        "/billing/.%2e/orders/1",
        "/billing/..;/orders/1",
        "/billing/..\\orders/1",
    ],
)
def test_a_path_traversal_cannot_reach_another_service(
    guarded, orders, billing, admin_user, workspace, path
):
    _, secret = token(admin_user, workspace, "billing-reader", "billing:read")

    response = guarded.request("GET", path, token=secret)

    # nginx may refuse some of these itself (400); none may reach the service.
    assert response.status in (400, 403)
    assert guarded.upstream.requests() == []


def test_keyward_headers_a_client_sends_are_replaced_not_passed(
    guarded, orders, admin_user, workspace
):
    reader, secret = token(admin_user, workspace, "reader", "orders:read")
    forged = {
        "X-Keyward-Token-Id": "kwt_forged",
        "X-Keyward-Workspace": "globex",
        "X-Keyward-Owner": "boss@example.com",
        "X-Keyward-Scopes": "orders:write admin",
    }

    assert guarded.request("GET", "/orders/1", token=secret, headers=forged).status == 200
    assert guarded.request("GET", "/orders/1", headers=forged).status == 401

    [seen] = guarded.upstream.seen
    assert seen.headers.get_all("X-Keyward-Token-Id") == [reader.public_id]
    assert seen.headers.get_all("X-Keyward-Workspace") == [workspace.slug]
    assert "boss@example.com" not in (seen.headers.get_all("X-Keyward-Owner") or [])
    assert seen.headers["X-Keyward-Scopes"] == "orders:read"


def test_a_client_cannot_point_the_check_at_another_path_or_host(
    guarded, orders, billing, admin_user, workspace
):
    _, secret = token(admin_user, workspace, "billing-reader", "billing:read")
    spoofed = {
        "X-Original-URI": "/billing/1",
        "X-Original-Method": "GET",
        "X-Forwarded-Uri": "/billing/1",
        "X-Forwarded-Method": "GET",
        "X-Forwarded-Host": SERVER_NAME,
        "X-Original-Host": SERVER_NAME,
    }

    assert guarded.request("POST", "/orders/1", token=secret, headers=spoofed).status == 403
    assert guarded.upstream.requests() == []


def test_a_token_used_from_outside_its_ip_ranges_is_403(guarded, orders, admin_user, workspace):
    _, secret = token(
        admin_user, workspace, "office-only", "orders:read", allowed_ips=["10.0.0.0/8"]
    )

    assert guarded.request("GET", "/orders/1", token=secret).status == 403
    assert guarded.upstream.requests() == []


def test_too_many_invalid_tokens_from_an_address_is_429_with_retry_after(guarded, orders, settings):
    settings.KEYWARD_API_AUTH_FAILURES_PER_IP = 2  # the API's limiter, built per test

    statuses = [guarded.request("GET", "/orders/1", token=UNKNOWN).status for _ in range(4)]

    assert statuses[:2] == [401, 401]
    assert statuses[-1] == 429
    answer = guarded.request("GET", "/orders/1", token=UNKNOWN)
    assert answer.status == 429
    assert int(answer.headers["Retry-After"]) > 0
    assert guarded.upstream.requests() == []


def test_a_personal_token_names_its_owner_to_the_service(guarded, orders, admin_user, workspace):
    personal, secret = token(admin_user, workspace, "laptop", "orders:read", kind="personal")

    assert guarded.request("GET", "/orders/1", token=secret).status == 200

    [seen] = guarded.upstream.seen
    assert seen.headers["X-Keyward-Token-Id"] == personal.public_id
    assert seen.headers["X-Keyward-Owner"] == admin_user.email
    assert_never_saw_a_token(guarded, secret)
