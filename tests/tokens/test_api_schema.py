"""The OpenAPI schema states what the API enforces, so generated clients agree with the server."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from accounts import text
from tests.factories import issue
from tests.tokens.test_api import ALL_SCOPES, Api
from tokens import validation
from tokens.schemas import IPV4_RANGE_PATTERN, WORKSPACE_SCOPE_PATTERN


@pytest.fixture
def api(workspace, admin_user) -> Api:
    return Api(issue(admin_user, workspace, name="automation", scopes=ALL_SCOPES)[1])


@pytest.fixture
def openapi(db) -> dict:
    return Client().get("/api/v1/openapi.json").json()


def _schema(openapi: dict, name: str) -> dict:
    return openapi["components"]["schemas"][name]


def test_the_create_body_states_every_rule_of_its_fields(openapi):
    create = _schema(openapi, "TokenCreateIn")
    fields = create["properties"]

    assert create["additionalProperties"] is False
    assert create["oneOf"] == [{"required": ["scopes"]}, {"required": ["preset"]}]
    assert create["not"] == {"required": ["expires_at", "expires_in_days"]}
    assert fields["name"]["pattern"] == text.GIVEN_NAME_PATTERN
    assert fields["description"]["pattern"] == text.TEXT_PATTERN
    assert fields["kind"]["enum"] == ["workspace", "personal"]
    assert fields["scopes"]["minItems"] == 1
    catalogue, services = fields["scopes"]["items"]["anyOf"]
    assert "tokens:read" in catalogue["enum"]
    assert services["pattern"] == WORKSPACE_SCOPE_PATTERN  # a workspace's services' scopes
    assert fields["preset"]["enum"] == ["read", "read_write", "admin"]
    assert fields["resources"]["items"]["minimum"] == 1
    assert fields["allowed_ips"]["maxItems"] == validation.MAX_IP_RANGES
    assert (fields["expires_in_days"]["minimum"], fields["expires_in_days"]["maximum"]) == (1, 3650)


def test_the_other_inputs_state_their_choices_and_bounds(openapi):
    rotate = _schema(openapi, "TokenRotateIn")["properties"]["grace"]
    update = _schema(openapi, "TokenUpdateIn")["properties"]
    listing = {
        p["name"]: p["schema"] for p in openapi["paths"]["/api/v1/tokens"]["get"]["parameters"]
    }

    assert rotate["enum"] == ["none", "1h", "1d", "7d"]
    assert update["name"]["pattern"] == text.GIVEN_NAME_PATTERN
    assert listing["status"]["enum"] == ["active", "expired", "revoked", "all"]
    assert listing["limit"]["minimum"] == 1
    assert listing["offset"]["minimum"] == 0


@pytest.mark.parametrize(
    "value", ["10.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "255.255.255.255/32", "192.0.2.7/24"]
)
def test_what_the_ipv4_pattern_accepts_the_service_accepts(value):
    assert re.search(IPV4_RANGE_PATTERN, value)
    assert validation.clean_allowed_ips([value])


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scopes": ["tokens:read"], "preset": "read"},
        {"name": "x", "scopes": ["tokens:read"], "expires_at": None, "expires_in_days": 7},
        {"name": "x", "scopes": ["tokens:read"], "expires_at": None},
        {"name": "x", "scopes": ["tokens:read"], "unknown": 1},
        {"name": "x", "scopes": ["tokens:read"], "allowed_ips": [""]},
        {"name": "x", "scopes": ["tokens:read"], "allowed_ips": [" 10.0.0.1"]},
        {"name": "x", "preset": None},
    ],
)
def test_what_the_schema_forbids_the_api_refuses(api, body):
    response = api.post("/tokens", body)

    assert response.status_code == 400, response.content
    assert response.json()["error"] in {"invalid_request", "validation_error"}
