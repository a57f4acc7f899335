"""GET /gateway/check as nginx, Traefik, Caddy and Envoy ask it."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent
from tests.factories import actor_of, issue
from tokens.services import token_revoke

CHECK = "/gateway/check"


def nginx(token: str | None, method="GET", uri="/billing/x", host="api.example.com", **extra):
    """Return the headers nginx's auth_request sends (docs/gateways.md)."""
    headers = {"X-Original-Method": method, "X-Original-URI": uri, "Host": host, **extra}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def traefik(token: str, method="GET", uri="/billing/x", host="api.example.com"):
    return {
        "X-Forwarded-Method": method,
        "X-Forwarded-Uri": uri,
        "X-Forwarded-Host": host,
        "Host": "keyward.internal:8000",
        "Authorization": f"Bearer {token}",
    }


def test_the_url_has_a_stable_name():
    assert reverse("gateway:check") == CHECK
    assert reverse("gateway:check_envoy", kwargs={"path": "a/b"}) == f"{CHECK}/envoy/a/b"


def test_nginx_allowed_request_gets_trusted_headers(client, reader, admin_user):
    response = client.get(CHECK, headers=nginx(reader))
    assert response.status_code == 200
    assert response["X-Keyward-Token-Id"].startswith("tok_")
    assert response["X-Keyward-Workspace"] == "acme"
    assert response["X-Keyward-Owner"] == ""  # a workspace token has no owner
    assert response["X-Keyward-Scopes"] == "billing:read"
    assert response["Cache-Control"] == "no-store"
    assert response.json() == {
        "allowed": True,
        "reason": "ok",
        "resource": "Billing",
        "service": "billing",
        "scope": "billing:read",
    }


def test_a_personal_token_names_its_owner(client, admin_user, workspace, billing):
    secret = issue(admin_user, workspace, "mine", scopes=["billing:read"], kind="personal")[1]
    response = client.get(CHECK, headers=nginx(secret))
    assert response["X-Keyward-Owner"] == "admin@example.com"


def test_the_header_names_are_settings(client, reader, settings):
    settings.KEYWARD_GATEWAY_RESPONSE_HEADERS = {
        "token_id": "X-Auth-Id",
        "workspace": "X-Auth-Team",
        "owner": "X-Auth-User",
        "scopes": "X-Auth-Scopes",
    }
    response = client.get(CHECK, headers=nginx(reader))
    assert response["X-Auth-Team"] == "acme"
    assert not response.has_header("X-Keyward-Workspace")


def test_the_token_may_come_in_a_configured_header(client, reader, settings):
    settings.KEYWARD_GATEWAY_TOKEN_HEADER = "X-Api-Key"
    headers = nginx(None, **{"X-Api-Key": reader})
    assert client.get(CHECK, headers=headers).status_code == 200
    assert client.get(CHECK, headers=nginx(reader)).status_code == 200  # Bearer still works


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_nginx_sends_the_original_method_on_the_subrequest(client, writer, method):
    # nginx's subrequest keeps the client's method; the check answers any.
    response = client.generic(method, CHECK, headers=nginx(writer, method=method))
    assert response.status_code == 200


def test_traefik_and_caddy_forwarded_headers(client, reader):
    assert client.get(CHECK, headers=traefik(reader)).status_code == 200
    refused = client.get(CHECK, headers=traefik(reader, method="POST"))
    assert refused.status_code == 403
    assert refused.json()["error"] == "insufficient_scope"
    assert refused.json()["scope"] == "billing:write"
    assert 'error="insufficient_scope", scope="billing:write"' in refused["WWW-Authenticate"]


def test_envoy_appends_the_original_path_and_keeps_the_method(client, reader, writer):
    headers = {"Host": "api.example.com", "Authorization": f"Bearer {reader}"}
    assert client.get(f"{CHECK}/envoy/billing/x?y=1", headers=headers).status_code == 200
    assert client.post(f"{CHECK}/envoy/billing/x", headers=headers).status_code == 403
    headers["Authorization"] = f"Bearer {writer}"
    assert client.post(f"{CHECK}/envoy/billing/x", headers=headers).status_code == 200


def test_envoy_does_not_believe_the_clients_forwarded_headers(client, reader):
    # Envoy passes the client's headers to the check: these are the client's claims.
    headers = {
        "Host": "api.example.com",
        "Authorization": f"Bearer {reader}",
        "X-Original-URI": "/billing/x",
        "X-Forwarded-Uri": "/billing/x",
    }
    response = client.get(f"{CHECK}/envoy/admin", headers=headers)
    assert (response.status_code, response.json()["error"]) == (403, "no_matching_service")


def test_envoy_paths_cannot_escape_a_prefix(client, reader):
    headers = {"Host": "api.example.com", "Authorization": f"Bearer {reader}"}
    assert client.get(f"{CHECK}/envoy/billing/../admin", headers=headers).status_code == 403
    assert client.get(f"{CHECK}/envoy/billing/%2e%2e/admin", headers=headers).status_code == 403
    assert client.get(f"{CHECK}/envoy/billing/%252e%252e/x", headers=headers).status_code == 403
    assert client.get(f"{CHECK}/envoy/admin/..%2fbilling", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "spoof",
    [
        {"X-Forwarded-Uri": "/admin"},
        {"X-Forwarded-Uri": "/billing/x", "X-Forwarded-Host": "admin.example.com"},
        {"X-Forwarded-Uri": "/billing/x", "X-Forwarded-Method": "DELETE"},
    ],
)
def test_a_clients_forwarded_headers_through_nginx_are_refused(client, reader, spoof):
    # nginx passes the client's own headers along with those its configuration sets.
    response = client.get(CHECK, headers={**nginx(reader), **spoof})
    assert (response.status_code, response.json()["error"]) == (403, "invalid_path")


@pytest.mark.parametrize(
    "spoof",
    [
        {"X-Original-URI": "/billing/x", "X-Original-Host": "admin.example.com"},
        {"X-Original-URI": "/admin"},
        {"X-Original-URI": "/billing/x", "X-Original-Method": "GET"},
    ],
)
def test_a_clients_original_headers_through_traefik_are_refused(client, writer, spoof):
    headers = {**traefik(writer, method="DELETE"), **spoof}
    response = client.get(CHECK, headers=headers)
    assert (response.status_code, response.json()["error"]) == (403, "invalid_path")


def test_a_clients_forwarded_host_alone_is_not_read(client, reader):
    # Through nginx the host is X-Original-Host, or the Host the configuration sets.
    headers = nginx(reader, host="intranet.example.com", **{"X-Forwarded-Host": "api.example.com"})
    response = client.get(CHECK, headers=headers)
    assert (response.status_code, response.json()["error"]) == (403, "no_matching_service")
    headers = nginx(reader, **{"X-Original-Host": "intranet.example.com"})
    assert client.get(CHECK, headers=headers).status_code == 403
    headers = nginx(reader, host="keyward.internal", **{"X-Original-Host": "api.example.com"})
    assert client.get(CHECK, headers=headers).status_code == 200


def test_no_original_uri_is_refused(client, reader):
    headers = {"Host": "api.example.com", "Authorization": f"Bearer {reader}"}
    assert client.get(CHECK, headers=headers).status_code == 403


def test_no_token_and_invalid_tokens_get_401(client, reader):
    missing = client.get(CHECK, headers=nginx(None))
    assert (missing.status_code, missing["WWW-Authenticate"]) == (401, 'Bearer realm="keyward"')
    assert missing.json()["error"] == "no_token"
    basic = client.get(CHECK, headers={**nginx(None), "Authorization": "Basic dXNlcjpwdw=="})
    assert basic.status_code == 401
    invalid = client.get(CHECK, headers=nginx("kww_garbage"))
    assert invalid.status_code == 401
    assert invalid["WWW-Authenticate"] == 'Bearer realm="keyward", error="invalid_token"'


def test_a_revoked_token_is_invalid_and_audited(client, admin_user, workspace, reader):
    token, secret = issue(admin_user, workspace, "gone", scopes=["billing:read"])
    token_revoke(actor=actor_of(admin_user, workspace), token=token)
    assert client.get(CHECK, headers=nginx(secret)).status_code == 401
    event = AuditEvent.objects.get(action="token.auth_failed")
    assert event.details["reason"] == "revoked"


@pytest.mark.parametrize(
    ("uri", "host", "reason"),
    [
        ("/other", "api.example.com", "no_matching_service"),
        ("/billing", "unknown.example.com", "no_matching_service"),
        ("/billing/%252e%252e/admin", "api.example.com", "invalid_path"),
    ],
)
def test_requests_no_service_allows_get_403(client, reader, uri, host, reason):
    response = client.get(CHECK, headers=nginx(reader, uri=uri, host=host))
    assert (response.status_code, response.json()["error"]) == (403, reason)
    assert not response.has_header("X-Keyward-Token-Id")


def test_a_token_limited_to_another_resource_gets_403(client, admin_user, workspace, billing):
    from tokens.services.resources import resource_create

    other = resource_create(
        actor=actor_of(admin_user, workspace), workspace=workspace, name="Other"
    )
    secret = issue(
        admin_user, workspace, "other", scopes=["billing:read"], resource_ids=[other.pk]
    )[1]
    response = client.get(CHECK, headers=nginx(secret))
    assert (response.status_code, response.json()["error"]) == (403, "resource_not_allowed")


def test_the_client_ip_comes_from_the_trusted_proxy_header(
    client, admin_user, workspace, billing, settings
):
    settings.KEYWARD_TRUST_X_FORWARDED_FOR = True
    secret = issue(
        admin_user, workspace, "fenced", scopes=["billing:read"], allowed_ips=["198.51.100.0/24"]
    )[1]
    inside = nginx(secret, **{"X-Forwarded-For": "203.0.113.1, 198.51.100.7"})
    assert client.get(CHECK, headers=inside).status_code == 200
    outside = nginx(secret, **{"X-Forwarded-For": "198.51.100.7, 203.0.113.1"})
    response = client.get(CHECK, headers=outside)
    assert (response.status_code, response.json()["error"]) == (403, "ip_not_allowed")


def test_invalid_tokens_are_limited_per_address(client, settings, billing):
    settings.KEYWARD_API_AUTH_FAILURES_PER_IP = 2
    statuses = [client.get(CHECK, headers=nginx("kww_garbage")).status_code for _ in range(4)]
    assert statuses[:2] == [401, 401]
    assert statuses[-1] == 429
    limited = client.get(CHECK, headers=nginx("kww_garbage"))
    assert limited.json()["error"] == "rate_limited"
    assert int(limited["Retry-After"]) > 0


def test_one_query_per_check_as_the_api(client, reader, django_assert_num_queries):
    client.get(CHECK, headers=nginx(reader))  # compiles the rules, records the first use
    with django_assert_num_queries(1):
        assert client.get(CHECK, headers=nginx(reader)).status_code == 200
    with django_assert_num_queries(1):
        assert client.get(CHECK, headers=nginx(reader, method="PUT")).status_code == 403


def test_the_check_skips_the_host_and_https_checks(client, reader, settings):
    settings.ALLOWED_HOSTS = ["keyward.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(CHECK, headers=nginx(reader, host="api.example.com")).status_code == 200
    # The rest of the site still checks them.
    assert client.get("/gateway/checks", headers={"Host": "api.example.com"}).status_code == 400


def test_no_token_value_is_logged(client, reader, caplog):
    with caplog.at_level(logging.DEBUG):
        client.get(CHECK, headers=nginx(reader))
        client.get(CHECK, headers=nginx(reader, method="POST"))
        client.get(CHECK, headers=nginx(reader[:-1] + "x"))
    assert caplog.records
    assert reader not in caplog.text
    assert reader[:-1] not in caplog.text


def test_a_database_down_answers_503(database_down, billing_free_client):
    response = billing_free_client.get(CHECK, headers=nginx("kww_" + "a" * 36))
    assert response.status_code == 401  # a malformed token needs no database
    well_formed = _well_formed_token()
    response = billing_free_client.get(CHECK, headers=nginx(well_formed))
    assert (response.status_code, response.json()["error"]) == (503, "unavailable")
    assert response["Retry-After"] == "30"


@pytest.fixture
def billing_free_client():
    return Client()


def _well_formed_token() -> str:
    from tokens.secrets import BASE62, checksum

    random_part = BASE62[:30]
    return f"kww_{random_part}{checksum(random_part)}"


def test_each_decision_is_announced(client, reader):
    from gateway.signals import gateway_checked

    heard = []

    def listener(sender, decision, request, **kwargs):
        heard.append(decision.reason)

    gateway_checked.connect(listener)
    try:
        client.get(CHECK, headers=nginx(reader))
        client.get(CHECK, headers=nginx(reader, method="POST"))
        client.get(CHECK, headers=nginx("kww_garbage"))
    finally:
        gateway_checked.disconnect(listener)
    assert heard == ["ok", "insufficient_scope", "invalid_token"]
