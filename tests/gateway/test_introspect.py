"""/api/v1/introspect with resource, method and path: the gateway's decision, for any caller."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import issue
from tests.tokens.test_api import Api
from tokens.auth import authenticate_token


@pytest.fixture
def api(admin_user, workspace) -> Api:
    return Api(issue(admin_user, workspace, "introspector", scopes=["tokens:introspect"])[1])


@pytest.mark.parametrize(
    ("fields", "decision"),
    [
        (
            {"resource": "billing"},
            {
                "allowed": True,
                "reason": "ok",
                "resource": "Billing",
                "service": "billing",
                "scope": "billing:read",
            },
        ),
        (
            {"resource": "Billing", "method": "POST", "path": "/billing/x"},
            {
                "allowed": False,
                "reason": "insufficient_scope",
                "resource": "Billing",
                "service": "billing",
                "scope": "billing:write",
            },
        ),
        ({"resource": "nothing"}, {"allowed": False, "reason": "no_matching_service"}),
        (
            {"resource": "billing", "path": "/billing/%252e%252e"},
            {"allowed": False, "reason": "invalid_path"},
        ),
    ],
)
def test_introspect_answers_the_gateway_decision(api, reader, fields, decision):
    body = api.form("/introspect", {"token": reader, **fields}).json()
    assert body["active"] is True
    assert body["decision"] == decision


def test_the_decision_is_the_decide_function_s(api, reader):
    from gateway.decision import decide

    principal = authenticate_token(reader, record_use=False)
    expected = decide(principal, method="DELETE", resource="billing", path="/billing/1")
    body = api.form(
        "/introspect",
        {"token": reader, "resource": "billing", "method": "DELETE", "path": "/billing/1"},
    ).json()
    assert body["decision"] == expected.as_dict()


@pytest.mark.parametrize("fields", [{}, {"method": "POST"}, {"path": "/billing"}])
def test_without_resource_there_is_no_decision(api, reader, fields):
    assert "decision" not in api.form("/introspect", {"token": reader, **fields}).json()


def test_an_inactive_token_gets_no_decision(api):
    body = api.form("/introspect", {"token": "garbage", "resource": "billing"}).json()
    assert body == {"active": False}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"resource": "billing", "path": "/" + "a" * 2048}, "path"),
        ({"resource": "b" * 101}, "resource"),
    ],
)
def test_bad_questions_get_a_field_error(api, reader, fields, field):
    response = api.form("/introspect", {"token": reader, **fields})
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_a_decision_costs_no_query_beyond_the_one_lookup(api, reader, django_assert_num_queries):
    fields = {"token": reader, "resource": "billing", "method": "GET"}
    api.form("/introspect", fields)  # the caller's last use; the rules compiled
    with django_assert_num_queries(1):  # the caller's token and the subject's, found together
        assert api.form("/introspect", fields).json()["decision"]["allowed"] is True


def test_the_schema_declares_the_question_and_the_decision(db):
    openapi = Client().get("/api/v1/openapi.json").json()
    body = openapi["paths"]["/api/v1/introspect"]["post"]["requestBody"]["content"]
    form = next(iter(body.values()))["schema"]
    assert {"token", "resource", "method", "path"} <= set(form["properties"])
    assert form["required"] == ["token"]
    decision = openapi["components"]["schemas"]["DecisionOut"]["properties"]
    assert {"allowed", "reason", "resource", "service", "scope"} == set(decision)
