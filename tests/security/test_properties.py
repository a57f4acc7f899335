"""Any input to any form or API body: a field error or a JSON 4xx, never a 500, nothing stored.

Each form is posted through its real view with each of its fields either valid
or replaced by generated (often hostile) text; each API body is generated from
the properties the OpenAPI schema declares, plus bodies of the wrong shape.
Every example runs in a savepoint that is undone, so the world the fixture built
is the same for each (hence the suppressed function-scoped-fixture check).
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth.forms import PasswordChangeForm, PasswordResetForm
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import forms as account_forms
from accounts.invitation_links import invitation_link_token
from accounts.sudo import SudoForm
from tests.conftest import PASSWORD
from tests.factories import signed_in
from tests.security.world import World, changes, rolled_back, shared_world, snapshot
from tokens import checking
from tokens import forms as token_forms
from tokens.api import api
from tokens.lookup_limit import failure_limiter
from tokens.views.policies import PolicyForm
from tokens.views.resources import ResourceForm

EXAMPLES = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Inputs that broke parsers somewhere: other scripts' digits, controls, huge values.
NASTY = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "line\r\nBcc: x@evil.test",
    "²",
    "①",
    "٣",
    "9" * 5000,
    "-1",
    "0",
    "1e309",
    "NaN",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "=cmd|' /C calc'!A0",
    "../../etc/passwd",
    "x" * 10_000,
    "2026-02-30",
    "::1/129",
    "10.0.0.0/33",
    "\u202eevil",
    "tok_" + "A" * 40,
]
# Text as a browser could send it: any character but lone surrogates (UTF-8 cannot carry them).
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
HOSTILE = st.one_of(st.sampled_from(NASTY), TEXT)

# route name -> (form class whose fields are posted, caller, valid data, URL object)
FORMS = {
    "accounts:signup": (
        account_forms.SignupForm,
        None,
        {
            "email": "new@example.com",
            "full_name": "New",
            "workspace_name": "Initech",
            "password1": "a-long-enough-password-1",
            "password2": "a-long-enough-password-1",
        },
    ),
    "accounts:login": (
        account_forms.LoginForm,
        None,
        {"username": "admin@example.com", "password": "correct-horse-battery-staple"},
    ),
    "accounts:workspace_create": (account_forms.WorkspaceForm, "admin", {"name": "Initech"}),
    "accounts:member_invite": (
        account_forms.InvitationForm,
        "admin",
        {"email": "new@example.com", "role": "member"},
    ),
    "accounts:member_role": (account_forms.RoleForm, "admin", {"role": "manager"}),
    "tokens:create": (
        token_forms.TokenCreateForm,
        "admin",
        {
            "name": "made",
            "kind": "workspace",
            "preset": "read",
            "expiration": "30",
            "allowed_ips": "10.0.0.0/8",
        },
    ),
    "tokens:rename": (token_forms.TokenRenameForm, "admin", {"name": "renamed"}),
    "tokens:rotate": (token_forms.TokenRotateForm, "admin", {"grace": "1h"}),
    "tokens:check": (checking.TokenCheckForm, "admin", {"value": "kww_x"}),
    "tokens:resource_create": (ResourceForm, "admin", {"name": "orders", "kind": "db"}),
    "tokens:resource_rename": (ResourceForm, "admin", {"name": "orders"}),
    "tokens:policies": (
        PolicyForm,
        "admin",
        {"max_lifetime_days": "90", "reveal_policy": "show_once"},
    ),
    "tokens:reveal": (SudoForm, "admin", {"password": PASSWORD}),
    "accounts:password_change": (
        PasswordChangeForm,
        "admin",
        {
            "old_password": PASSWORD,
            "new_password1": "a-long-enough-password-2",
            "new_password2": "a-long-enough-password-2",
        },
    ),
    "accounts:password_reset": (PasswordResetForm, None, {"email": "admin@example.com"}),
    "accounts:invitation_accept": (
        account_forms.InvitationSignupForm,
        None,
        {
            "full_name": "Invitee",
            "password1": "a-long-enough-password-3",
            "password2": "a-long-enough-password-3",
        },
    ),
}


def _url(name: str, world: World) -> str:
    route_kwargs = {
        "accounts:invitation_accept": {"token": invitation_link_token(world.acme.invitation)},
        "tokens:reveal": {"public_id": world.acme.token.public_id},
        "tokens:rename": {"public_id": world.acme.token.public_id},
        "tokens:rotate": {"public_id": world.acme.token.public_id},
        "tokens:resource_rename": {"pk": world.acme.resource.pk},
        "accounts:member_role": {"pk": world.acme.membership.pk},
    }.get(name, {})
    if name.startswith(("tokens:", "accounts:member")):
        route_kwargs = {"slug": world.acme.workspace.slug, **route_kwargs}
    return reverse(name, kwargs=route_kwargs)


def _form_data(form_class, valid: dict):
    """Return a strategy of POST data: each field valid, hostile, several values, or absent."""
    fields = {}
    for field in form_class.base_fields:
        choices = [st.just(valid[field])] if field in valid else []
        fields[field] = st.one_of(
            *choices, HOSTILE, st.lists(HOSTILE, min_size=2, max_size=3), st.none()
        )
    return st.fixed_dictionaries(fields).map(
        lambda data: {key: value for key, value in data.items() if value is not None}
    )


def _succeeded(response) -> bool:
    """Return whether the view says it did something: a redirect, or a new secret shown."""
    return response.status_code in (301, 302) or "no-store" in response.get("Cache-Control", "")


world = shared_world({"all": ("workspace:read", "members:read", "tokens:read", "tokens:write")})
pytestmark = pytest.mark.django_db


def _caller(world: World, who: str | None) -> Client:
    return Client() if who is None else signed_in(world.acme.admin)


@pytest.mark.parametrize("name", list(FORMS))
def test_form_answers_every_input_without_a_server_error(world: World, name: str):
    """Post generated data to the form's view: never a 500; a refusal stores nothing."""
    form_class, who, valid = FORMS[name]
    client, url = _caller(world, who), _url(name, world)

    @EXAMPLES
    @given(data=_form_data(form_class, valid))
    def post(data):
        cache.clear()  # sign-in limits would otherwise refuse later examples
        with rolled_back():
            response = client.post(url, data)
            changed = changes(world.baseline, snapshot())
        assert response.status_code < 500
        if not _succeeded(response):
            assert not changed, f"refused ({response.status_code}) but changed {changed}"

    post()


# API -------------------------------------------------------------------------

JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**20, max_value=10**400),
    st.floats(),
    HOSTILE,
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def _schema() -> dict:
    """Return the schema /api/v1/openapi.json serves (built directly: tests are collected
    before the test settings allow the test client's host)."""
    return json.loads(json.dumps(api.get_openapi_schema(), default=str))


def _body_operations():
    """Yield (method, path, properties) for each operation with a JSON body in the schema."""
    schema = _schema()
    components = schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            content = operation.get("requestBody", {}).get("content", {})
            body = content.get("application/json", {}).get("schema")
            if body is None:
                continue
            ref = body.get("$ref") or next(
                (option["$ref"] for option in body.get("anyOf", []) if "$ref" in option), None
            )
            properties = components[ref.rsplit("/", 1)[1]]["properties"] if ref else {}
            yield pytest.param(method, path, sorted(properties), id=f"{method} {path}")


def _bodies(properties: list[str]):
    """Return a strategy of JSON bodies: objects over the declared fields, or any JSON."""
    objects = st.fixed_dictionaries({}, optional={field: JSON for field in properties})
    return st.one_of(objects, objects, JSON)


@pytest.fixture
def api_world(world: World):
    failure_limiter.cache_clear()  # a limiter left over by other tests could refuse the token
    _, secret = world.acme.tokens_by_scope["all"]
    return world, {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.mark.parametrize(("method", "path", "properties"), list(_body_operations()))
def test_api_body_answers_every_input_with_json(api_world, method, path, properties):
    """Send generated bodies: never a 500; a 4xx is a JSON error and stores nothing."""
    world, headers = api_world
    url = path.replace("{token_id}", world.acme.token.public_id)
    client = Client()

    @EXAMPLES
    @given(body=_bodies(properties))
    def send(body):
        with rolled_back():
            response = client.generic(
                method.upper(), url, json.dumps(body), content_type="application/json", **headers
            )
            changed = changes(world.baseline, snapshot())
        assert response.status_code < 500
        if response.status_code >= 400:
            assert response["Content-Type"].startswith("application/json")
            assert response.json()["error"]
            assert not changed, f"refused ({response.status_code}) but changed {changed}"

    send()


def _query_operations():
    schema = _schema()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            if names:
                yield pytest.param(method, path, names, id=f"{method} {path}")


@pytest.mark.parametrize(("method", "path", "names"), list(_query_operations()))
def test_api_query_answers_every_input_with_json(api_world, method, path, names):
    """Send generated query parameters: never a 500; a 4xx is a JSON error."""
    _, headers = api_world
    client = Client()
    values = st.one_of(HOSTILE, st.integers().map(str))

    @EXAMPLES
    @given(query=st.fixed_dictionaries({}, optional=dict.fromkeys(names, values)))
    def send(query):
        with rolled_back():
            response = client.generic(method.upper(), f"{path}?{urlencode(query)}", **headers)
        assert response.status_code < 500
        if response.status_code >= 400:
            assert response.json()["error"]

    send()
