"""The one decision: which service a request is for, and whether the token may make it."""

from __future__ import annotations

import pytest

from gateway import services
from gateway.decision import check_request, decide
from tests.factories import issue
from tokens.auth import authenticate_token
from tokens.services.resources import resource_create, resource_rename


def _decide(secret: str, method: str = "GET", host: str = "api.example.com", path: str = "/"):
    principal = authenticate_token(secret, record_use=False)
    return decide(principal, method=method, host=host, path=path)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_reading_methods_need_the_read_scope(reader, method):
    decision = _decide(reader, method, path="/billing/invoices?page=2")
    assert decision.allowed
    assert decision.as_dict() == {
        "allowed": True,
        "reason": "ok",
        "resource": "Billing",
        "service": "billing",
        "scope": "billing:read",
    }


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "PROPFIND", "get"])
def test_other_methods_need_the_write_scope(reader, writer, method):
    refused = _decide(reader, method, path="/billing")
    assert (refused.reason, refused.scope, refused.status) == (
        "insufficient_scope",
        "billing:write",
        403,
    )
    assert _decide(writer, method, path="/billing").allowed


def test_a_service_may_map_methods_otherwise(admin_actor, billing, reader):
    services.service_update(
        actor=admin_actor, service=billing, method_scopes={"POST": "read", "GET": "write"}
    )
    assert _decide(reader, "POST", path="/billing/search").allowed
    assert _decide(reader, "GET", path="/billing").reason == "insufficient_scope"
    assert _decide(reader, "HEAD", path="/billing").reason == "insufficient_scope"


@pytest.mark.parametrize(
    ("host", "path", "reason"),
    [
        ("api.example.com", "/billing", "ok"),
        ("API.EXAMPLE.COM:8443", "/Billing/", "ok"),
        ("api.example.com", "/billingx", "no_matching_service"),
        ("api.example.com", "/", "no_matching_service"),
        ("api.example.com", "/billing/../admin", "no_matching_service"),
        ("api.example.com", "/billing/%2e%2e/admin", "no_matching_service"),
        ("api.example.com", "/admin/..%2fbilling/x", "ok"),
        ("api.example.com", "/billing/%252e%252e/admin", "invalid_path"),
        ("eu.billing.example.com", "/anything", "ok"),
        ("a.b.billing.example.com", "/", "ok"),
        ("billing.example.com", "/", "no_matching_service"),
        ("other.example.com", "/billing", "no_matching_service"),
        ("", "/billing", "no_matching_service"),
        ("bad host!", "/billing", "no_matching_service"),
    ],
)
def test_requests_match_hosts_and_prefixes_on_segment_boundaries(reader, host, path, reason):
    assert _decide(reader, host=host, path=path).reason == reason


def test_the_longest_prefix_and_the_most_specific_host_win(
    admin_actor, workspace, admin_user, billing
):
    resource = resource_create(actor=admin_actor, workspace=workspace, name="Admin")
    services.service_create(
        actor=admin_actor,
        resource=resource,
        slug="admin",
        rules=[("api.example.com", "/billing/admin"), ("eu.billing.example.com", "/admin")],
    )
    secret = issue(admin_user, workspace, "both", scopes=["billing:read"])[1]
    assert _decide(secret, path="/billing/admin/x").service == "admin"
    assert _decide(secret, path="/billing/administrators").service == "billing"
    # The exact host has rules: its other paths match nothing, not the wildcard's service.
    assert _decide(secret, host="eu.billing.example.com", path="/admin").service == "admin"
    assert (
        _decide(secret, host="eu.billing.example.com", path="/other").reason
        == "no_matching_service"
    )


def test_a_token_limited_to_other_resources_is_refused(admin_actor, admin_user, workspace, billing):
    other = resource_create(actor=admin_actor, workspace=workspace, name="Other")
    limited = issue(
        admin_user, workspace, "limited", scopes=["billing:read"], resource_ids=[other.pk]
    )[1]
    decision = _decide(limited, path="/billing")
    assert (decision.reason, decision.resource) == ("resource_not_allowed", "Billing")
    allowed = issue(
        admin_user,
        workspace,
        "allowed",
        scopes=["billing:read"],
        resource_ids=[billing.resource_id],
    )[1]
    assert _decide(allowed, path="/billing").allowed


def test_a_renamed_resource_stays_allowed_to_tokens_limited_to_it(
    admin_actor, admin_user, workspace, billing
):
    limited = issue(
        admin_user,
        workspace,
        "limited",
        scopes=["billing:read"],
        resource_ids=[billing.resource_id],
    )[1]
    assert _decide(limited, path="/billing").allowed  # rules compiled under the old name
    resource_rename(actor=admin_actor, resource=billing.resource, name="Invoices")
    assert _decide(limited, path="/billing").resource == "Invoices"
    assert _decide(limited, path="/billing").allowed


def test_tokens_of_another_workspace_see_none_of_its_services(billing, outsider, other_workspace):
    secret = issue(outsider, other_workspace, "outside", scopes=["workspace:read"])[1]
    assert _decide(secret, path="/billing").reason == "no_matching_service"


def test_decisions_reuse_compiled_rules_and_reload_them_after_a_change(
    admin_actor, billing, reader, django_assert_num_queries
):
    principal = authenticate_token(reader, record_use=False)
    with django_assert_num_queries(1):  # this process has not compiled them yet
        assert decide(principal, method="GET", host="api.example.com", path="/billing").allowed
    with django_assert_num_queries(0):
        assert decide(principal, method="GET", host="api.example.com", path="/billing").allowed
    services.service_update(actor=admin_actor, service=billing, rules=[("new.example.com", "/")])
    # A principal looked up now carries the new version: the stale rules are not used.
    fresh = authenticate_token(reader, record_use=False)
    with django_assert_num_queries(1):
        refused = decide(fresh, method="GET", host="api.example.com", path="/billing")
    assert refused.reason == "no_matching_service"
    assert decide(fresh, method="GET", host="new.example.com", path="/x").allowed


def test_a_workspace_without_services_decides_without_a_query(
    admin_user, workspace, django_assert_num_queries
):
    secret = issue(admin_user, workspace, "plain", scopes=["tokens:read"])[1]
    principal = authenticate_token(secret, record_use=False)
    with django_assert_num_queries(0):
        refused = decide(principal, method="GET", host="api.example.com", path="/")
    assert refused.reason == "no_matching_service"


def test_a_resource_may_be_named_instead_of_a_host(reader):
    principal = authenticate_token(reader, record_use=False)
    assert decide(principal, method="GET", resource="billing").allowed
    assert decide(principal, method="GET", resource="Billing", path="/billing/x").allowed
    # /x is under the prefix / of its rule for *.billing.example.com:
    assert decide(principal, method="GET", resource="billing", path="/x").allowed
    assert decide(principal, method="POST", resource="billing").reason == "insufficient_scope"
    assert decide(principal, method="GET", resource="nope").reason == "no_matching_service"


def test_check_request_says_why_a_token_is_refused(admin_user, workspace, billing, reader):
    fields = {"method": "GET", "host": "api.example.com", "path": "/billing"}
    assert check_request("", client_ip="203.0.113.9", **fields).reason == "no_token"
    assert check_request("kww_nope", client_ip="203.0.113.9", **fields).reason == "invalid_token"
    fenced = issue(
        admin_user, workspace, "fenced", scopes=["billing:read"], allowed_ips=["10.0.0.0/8"]
    )[1]
    assert check_request(fenced, client_ip="203.0.113.9", **fields).reason == "ip_not_allowed"
    assert check_request(fenced, client_ip="10.1.2.3", **fields).allowed
    decision = check_request(reader, client_ip="203.0.113.9", **fields)
    assert (decision.allowed, decision.status, decision.principal.name) == (True, 200, "reader")
