"""POST/PATCH/GET /api/v1/tokens with rate_limit and quota."""

from __future__ import annotations

import json

import pytest

from gateway.limit_models import MAX_LIMIT, LimitPolicy, TokenLimits
from tests.factories import issue
from tokens.models import Token
from tokens.schemas import MAX_LIMIT_COUNT

TOKENS = "/api/v1/tokens"


@pytest.fixture
def writer_secret(admin_user, workspace):
    return issue(admin_user, workspace, "api", scopes=["tokens:read", "tokens:write"])[1]


def call(client, method, path, secret, body=None):
    return getattr(client, method)(
        path,
        data=json.dumps(body) if body is not None else None,
        content_type="application/json",
        headers={"Authorization": f"Bearer {secret}"},
    )


def test_the_api_and_the_service_share_one_bound():
    assert MAX_LIMIT_COUNT == MAX_LIMIT


def test_create_with_limits_and_read_them_back(client, writer_secret):
    body = {
        "name": "limited",
        "scopes": ["tokens:read"],
        "rate_limit": {"requests": 10, "per": "second", "burst": 20},
        "quota": {"uses": 1000, "period": "month"},
    }
    created = call(client, "post", TOKENS, writer_secret, body)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["rate_limit"] == {"requests": 10, "per": "second", "burst": 20}
    assert data["quota"]["uses"] == 1000 and data["quota"]["used"] == 0
    # Its use shows in the detail.
    call(client, "get", "/api/v1/whoami", data["token"])
    detail = call(client, "get", f"{TOKENS}/{data['id']}", writer_secret).json()
    assert (detail["quota"]["used"], detail["quota"]["remaining"]) == (1, 999)
    assert detail["quota"]["resets_at"] is not None


@pytest.mark.parametrize(
    ("limits", "field", "code"),
    [
        ({"rate_limit": {"requests": 0}}, "rate_limit.requests", "min_value"),
        ({"rate_limit": {"requests": -5}}, "rate_limit.requests", "min_value"),
        ({"rate_limit": {"requests": MAX_LIMIT + 1}}, "rate_limit.requests", "max_value"),
        ({"rate_limit": {"requests": 2**64}}, "rate_limit.requests", "max_value"),
        ({"rate_limit": {"requests": 10**400}}, "rate_limit.requests", "max_value"),
        ({"rate_limit": {"requests": True}}, "rate_limit.requests", "invalid"),
        ({"rate_limit": {"requests": "5"}}, "rate_limit.requests", "invalid"),
        ({"rate_limit": {"requests": "lots"}}, "rate_limit.requests", "invalid"),
        ({"rate_limit": {"requests": 1.5}}, "rate_limit.requests", "invalid"),
        ({"rate_limit": {"requests": None}}, "rate_limit.requests", "invalid"),
        ({"rate_limit": {}}, "rate_limit.requests", "required"),
        ({"rate_limit": {"requests": 5, "burst": 0}}, "rate_limit.burst", "min_value"),
        ({"rate_limit": {"requests": 5, "burst": -1.0}}, "rate_limit.burst", "min_value"),
        ({"rate_limit": {"requests": 5, "per": "hour"}}, "rate_limit.per", "invalid_choice"),
        ({"rate_limit": {"requests": 5, "every": 2}}, "rate_limit.every", "unknown_field"),
        ({"rate_limit": "10/s"}, "rate_limit", "invalid"),
        ({"quota": {"uses": 0}}, "quota.uses", "min_value"),
        ({"quota": {"uses": 2**63}}, "quota.uses", "max_value"),
        ({"quota": {"uses": "1e3"}}, "quota.uses", "invalid"),
        ({"quota": {"uses": 1, "period": "week"}}, "quota.period", "invalid_choice"),
        ({"quota": [1000]}, "quota", "invalid"),
    ],
)
def test_absurd_limits_get_field_codes_and_no_token(client, writer_secret, limits, field, code):
    body = {"name": "bad", "scopes": ["tokens:read"], **limits}
    response = call(client, "post", TOKENS, writer_secret, body)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
    assert response.json()["field_codes"] == {field: [code]}
    assert len(response.json()["fields"][field]) == 1
    assert not Token.objects.filter(name="bad").exists()


@pytest.mark.parametrize(
    ("policy", "limits", "codes"),
    [
        (
            {},
            {"rate_limit": {"requests": 5, "burst": 4}},
            {"rate_limit.burst": ["burst_below_rate"]},
        ),
        (
            {"max_rate_per_minute": 60},
            {"rate_limit": {"requests": 2, "per": "second"}},
            {"rate_limit.requests": ["above_ceiling"]},
        ),
        (
            {"max_burst": 3},
            {"rate_limit": {"requests": 3, "burst": 4}},
            {"rate_limit.burst": ["above_ceiling"]},
        ),
        ({"max_quota": 10}, {"quota": {"uses": 11}}, {"quota.uses": ["above_ceiling"]}),
        ({"max_quota": 10}, {"quota": None}, {"quota": ["limit_required"]}),
        ({"max_rate_per_minute": 60}, {"rate_limit": None}, {"rate_limit": ["limit_required"]}),
    ],
)
def test_limits_the_rules_refuse_get_field_codes(
    client, writer_secret, workspace, policy, limits, codes
):
    LimitPolicy.objects.create(workspace=workspace, **policy)
    body = {"name": "bad", "scopes": ["tokens:read"], **limits}
    for method, path in (("post", TOKENS), ("patch", f"{TOKENS}/{{id}}")):
        if method == "patch":
            target = Token.objects.get(name="api")
            path = path.format(id=target.public_id)
            body = limits
        response = call(client, method, path, writer_secret, body)
        assert response.status_code == 400, response.content
        assert response.json()["error"] == "validation_error"
        assert response.json()["field_codes"] == codes
    assert not Token.objects.filter(name="bad").exists()
    assert not TokenLimits.objects.exists()


def test_a_burst_below_the_rate_or_over_the_ceiling_creates_no_token(
    client, writer_secret, workspace
):
    body = {"name": "bad", "scopes": ["tokens:read"], "rate_limit": {"requests": 5, "burst": 4}}
    response = call(client, "post", TOKENS, writer_secret, body)
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert "rate_limit.burst" in response.json()["fields"]
    LimitPolicy.objects.create(workspace=workspace, max_quota=10)
    body = {"name": "bad", "scopes": ["tokens:read"], "quota": {"uses": 11}}
    response = call(client, "post", TOKENS, writer_secret, body)
    assert response.json()["fields"] == {
        "quota.uses": ["This workspace allows a quota of at most 10 uses."]
    }
    assert not Token.objects.filter(name="bad").exists()


def test_patch_changes_one_limit_and_keeps_the_other(client, writer_secret, admin_user, workspace):
    token, _ = issue(admin_user, workspace, "target")
    path = f"{TOKENS}/{token.public_id}"
    both = {"rate_limit": {"requests": 5}, "quota": {"uses": 9}}
    call(client, "patch", path, writer_secret, both)
    response = call(client, "patch", path, writer_secret, {"quota": None})
    assert response.status_code == 200
    assert response.json()["rate_limit"] == {"requests": 5, "per": "minute", "burst": 5}
    assert response.json()["quota"] is None
    assert TokenLimits.objects.get(token=token).quota is None


def test_the_list_reads_limits_with_a_constant_number_of_queries(
    client, writer_secret, admin_user, workspace
):
    def listed() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert call(client, "get", TOKENS, writer_secret).status_code == 200
        return len(queries)

    token, _ = issue(admin_user, workspace, "one")
    TokenLimits.objects.create(token=token, quota=5, quota_period="total")
    listed()  # the caller's first use writes last_used_at once
    before = listed()
    for number in range(5):
        more, _ = issue(admin_user, workspace, f"more{number}")
        TokenLimits.objects.create(token=more, rate=1, rate_period="second", burst=1)
    assert listed() == before
    answer = call(client, "get", TOKENS, writer_secret).json()
    assert sum(1 for t in answer if t["rate_limit"]) == 5


def test_the_schema_describes_limits(client):
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert {"rate_limit", "quota"} <= set(schema["TokenCreateIn"]["properties"])
    assert {"rate_limit", "quota"} <= set(schema["TokenUpdateIn"]["properties"])
    assert set(schema["QuotaOut"]["properties"]) >= {"used", "remaining", "resets_at"}
