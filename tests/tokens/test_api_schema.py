"""The OpenAPI schema states what the API enforces, so generated clients agree with the server."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import issue
from tests.tokens.test_api import ALL_SCOPES, Api
from tokens import validation
from tokens.schemas import DESCRIPTION_PATTERN, IPV4_RANGE_PATTERN, NAME_PATTERN


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
    assert fields["name"]["pattern"] == NAME_PATTERN
    assert fields["description"]["pattern"] == DESCRIPTION_PATTERN
    assert fields["kind"]["enum"] == ["workspace", "personal"]
    assert fields["scopes"]["minItems"] == 1
    assert "tokens:read" in fields["scopes"]["items"]["enum"]
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
    assert update["name"]["pattern"] == NAME_PATTERN
    assert listing["status"]["enum"] == ["active", "expired", "revoked", "all"]
    assert listing["limit"]["minimum"] == 1
    assert listing["offset"]["minimum"] == 0


def _accepted(clean, text: str) -> bool:
    try:
        clean(text)
    except ValidationError:
        return False
    return True


@settings(max_examples=300, derandomize=True)
@given(st.text(max_size=110) | st.text(alphabet=" \t\x01a-", max_size=4))
def test_the_name_pattern_accepts_exactly_what_the_service_accepts(text):
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        return  # no regex engine names lone surrogates; the service refuses them
    assert bool(re.search(NAME_PATTERN, text)) == _accepted(validation.clean_name, text)


@settings(max_examples=300, derandomize=True)
@given(st.text(max_size=260) | st.text(alphabet=" \x00a", max_size=4))
def test_the_description_pattern_accepts_exactly_what_the_service_accepts(text):
    if any(0xD800 <= ord(char) <= 0xDFFF for char in text):
        return
    assert bool(re.search(DESCRIPTION_PATTERN, text)) == _accepted(
        validation.clean_description, text
    )


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
