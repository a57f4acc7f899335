"""Token and resource names are one line of printable text on every door: API (schema and
server agree), console, services; the migration repairs stored rows. (Tokens and resources
are read-only in the admin; the model fields' validators still carry the rule.)"""

from __future__ import annotations

import importlib
import json

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import text
from tests.factories import actor_of, issue, signed_in
from tests.tokens.test_api import ALL_SCOPES, Api
from tokens import services
from tokens.models import Resource, Token
from tokens.services import resources

pytestmark = pytest.mark.django_db

BAD_NAMES = ["ci\rdeploy", "ci\ndeploy", "ci\u2028deploy", "ci\u202eyolped", "ci\x00deploy", "   "]


@pytest.fixture
def api(workspace, admin_user) -> Api:
    return Api(issue(admin_user, workspace, name="automation", scopes=ALL_SCOPES)[1])


@pytest.mark.parametrize("name", BAD_NAMES, ids=json.dumps)
def test_the_api_refuses_a_name_that_is_not_one_printable_line(api, name):
    before = Token.objects.count()

    response = api.post("/tokens", {"name": name, "scopes": ["tokens:read"]})

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_request"
    [message] = body["fields"]["name"]
    assert "printable text" in message
    assert Token.objects.count() == before


@pytest.mark.parametrize("description", ["a\x00b", "a\x0bb", "a\u202eb"], ids=json.dumps)
def test_the_api_refuses_a_description_with_a_control_character(api, description):
    body = {"name": "ci", "description": description, "scopes": ["tokens:read"]}

    response = api.post("/tokens", body)

    assert response.status_code == 400
    assert response.json()["fields"]["description"] == [text.TEXT_MESSAGE]


def test_the_api_keeps_a_multi_line_description_with_newlines_as_lf(api):
    body = {"name": "ci", "description": "line one\r\nline two", "scopes": ["tokens:read"]}

    response = api.post("/tokens", body)

    assert response.status_code == 201, response.content
    assert Token.objects.get(name="ci").description == "line one\nline two"


def test_the_api_refuses_a_rename_to_a_bad_name(api, workspace, admin_user):
    token, _ = issue(admin_user, workspace, name="ci")

    response = api.patch(f"/tokens/{token.public_id}", {"name": "ci\u2066x"})

    assert response.status_code == 400
    assert "printable text" in response.json()["fields"]["name"][0]
    token.refresh_from_db()
    assert token.name == "ci"


def test_the_schema_states_the_name_and_description_rules(api):
    schema = api.client.get("/api/v1/openapi.json").json()["components"]["schemas"]

    for shape in ("TokenCreateIn", "TokenUpdateIn"):
        properties = schema[shape]["properties"]
        name = properties["name"].get("anyOf", [properties["name"]])[0]
        description = properties["description"].get("anyOf", [properties["description"]])[0]
        assert name["pattern"] == text.GIVEN_NAME_PATTERN
        assert (name["minLength"], name["maxLength"]) == (1, 100)
        assert description["pattern"] == text.TEXT_PATTERN
        assert description["maxLength"] == 255


def test_the_service_refuses_bad_names_for_every_caller(workspace, admin_user):
    actor = actor_of(admin_user, workspace)
    with pytest.raises(ValidationError) as caught:
        services.token_create(
            actor=actor, workspace=workspace, name="ci\rdeploy", scopes=["tokens:read"]
        )
    assert caught.value.message_dict == {"name": [text.NAME_MESSAGE]}
    with pytest.raises(ValidationError) as caught:
        resources.resource_create(actor=actor, workspace=workspace, name="db", kind="pg\ndb")
    assert caught.value.message_dict == {"kind": [text.NAME_MESSAGE]}


def test_the_console_shows_the_error_next_to_the_token_name(workspace, admin_user):
    data = {
        "name": "ci\rdeploy",
        "description": "",
        "kind": "workspace",
        "preset": "read",
        "expiration": "30",
        "expires_on": "",
        "allowed_ips": "",
    }

    response = signed_in(admin_user).post(reverse("tokens:create", args=["acme"]), data)

    assert response.status_code == 200
    assert text.NAME_MESSAGE in response.content.decode()
    assert not Token.objects.exists()


# The migration that repairs stored names -----------------------------------------------


def test_the_migration_repairs_names_and_keeps_active_names_unique(workspace, admin_user):
    clean, _ = issue(admin_user, workspace, name="ci deploy")
    dirty, _ = issue(admin_user, workspace, name="placeholder")
    Token.objects.filter(pk=dirty.pk).update(name="ci\r\ndeploy", description="a\x01b\r\nc")
    Resource.objects.create(workspace=workspace, name="Orders DB")
    resource = Resource.objects.create(workspace=workspace, name="x")
    Resource.objects.filter(pk=resource.pk).update(name="orders\u2028db", kind="pg\tsql")
    migration = importlib.import_module("tokens.migrations.0004_names_single_line_text")

    migration.repair_names(apps, None)

    dirty.refresh_from_db()
    clean.refresh_from_db()
    resource.refresh_from_db()
    assert clean.name == "ci deploy"
    assert dirty.name == "ci deploy (2)"
    assert dirty.description == "a b\nc"
    assert resource.name == "orders db (2)"  # "Orders DB" differs only by case
    assert resource.kind == "pg sql"


# Other text from the API that is stored ------------------------------------------------


def test_a_user_agent_with_nul_is_stored_without_it(workspace, admin_user):
    token, secret = issue(admin_user, workspace, name="ci", scopes=ALL_SCOPES)
    api = Api(secret)
    api.client.defaults["HTTP_USER_AGENT"] = "curl/8\x00\r\nX-Evil: 1"

    assert api.get("/whoami").status_code == 200

    token.refresh_from_db()
    assert token.last_used_user_agent == "curl/8 X-Evil: 1"
