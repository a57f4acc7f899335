"""Every API operation of the OpenAPI schema, with every kind of credential: refused and inert.

The operations come from /api/v1/openapi.json, so a new endpoint that is not in
`OPERATIONS` fails `test_every_operation_is_in_the_table`, and every cell of a
known one is tried: no token, garbage, a revoked token, a token of each scope,
a Member's personal token, and a token of another workspace naming our token.
"""

from __future__ import annotations

import itertools
import json

import pytest
from django.test import Client

from tests.security.world import World, changes, rolled_back, shared_world, snapshot
from tokens.lookup_limit import failure_limiter

# The scope each operation needs (None: any valid token) and a valid body, so a
# missing check would let the call through.
OPERATIONS: dict[str, tuple[str | None, dict | None]] = {
    "GET /api/v1/whoami": (None, None),
    "POST /api/v1/introspect": ("tokens:introspect", {"token": "Acme's target token"}),
    "GET /api/v1/tokens": ("tokens:read", None),
    "POST /api/v1/tokens": ("tokens:write", {"name": "made", "scopes": ["tokens:read"]}),
    "GET /api/v1/tokens/{token_id}": ("tokens:read", None),
    "PATCH /api/v1/tokens/{token_id}": ("tokens:write", {"name": "renamed"}),
    "DELETE /api/v1/tokens/{token_id}": ("tokens:write", None),
    "POST /api/v1/tokens/{token_id}/rotate": ("tokens:write", {"grace": "none"}),
    "GET /api/v1/tokens/{token_id}/usage": ("tokens:read", None),
}
SCOPES = ("workspace:read", "members:read", "tokens:read", "tokens:write", "tokens:introspect")
SCOPE_SETS = {scope: (scope,) for scope in SCOPES} | {"all": SCOPES}
_addresses = itertools.count(1)


def _operations() -> list[str]:
    schema = Client().get("/api/v1/openapi.json").json()
    return [
        f"{method.upper()} /api/v1{path.removeprefix('/api/v1')}"
        for path, item in schema["paths"].items()
        for method in item
    ]


def test_every_operation_is_in_the_table():
    """An endpoint nobody decided about fails here, before it can ship unchecked."""
    operations = _operations()
    unknown = [op for op in operations if op not in OPERATIONS]
    assert not unknown, f"unknown operation, add it to the table in {__name__}: {unknown}"
    assert set(OPERATIONS) <= set(operations), "the table names operations that are gone"


world = shared_world(SCOPE_SETS)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_failure_limiter():
    failure_limiter.cache_clear()
    yield
    failure_limiter.cache_clear()


def _call(world: World, operation: str, credential: str | None, target_id: str):
    """Send the operation with `credential` from a fresh address; undo what it did."""
    method, path = operation.split(" ", 1)
    body = OPERATIONS[operation][1]
    headers = {"REMOTE_ADDR": f"10.9.{next(_addresses) % 250}.{next(_addresses) % 250}"}
    if credential is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {credential}"
    url = path.replace("{token_id}", target_id)
    client = Client()
    with rolled_back():
        if operation == "POST /api/v1/introspect":  # a form body (RFC 7662)
            response = client.post(url, {"token": world.acme.secret}, **headers)
        elif body is None:
            response = client.generic(method, url, **headers)
        else:
            response = client.generic(
                method, url, json.dumps(body), content_type="application/json", **headers
            )
        changed = changes(world.baseline, snapshot()) if response.status_code >= 400 else []
    return response, changed


def _credentials(world: World):
    """Yield (label, secret, scopes it holds or None if it must not authenticate)."""
    yield "no token", None, None
    yield "garbage", "kww_not-a-token", None
    yield "revoked", world.revoked_secret, None
    for label, (_, secret) in world.acme.tokens_by_scope.items():
        yield f"acme {label}", secret, set(SCOPE_SETS[label])
    yield "member's personal", world.personal_secret, {"tokens:read"}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_operation_refuses_what_the_table_refuses(world: World, operation: str):
    """Without a valid token: 401; without the scope: 403; nothing changes when refused."""
    needed, _ = OPERATIONS[operation]
    failures = []
    for label, secret, scopes in _credentials(world):
        response, changed = _call(world, operation, secret, world.acme.token.public_id)
        allowed = scopes is not None and (needed is None or needed in scopes)
        if label == "member's personal" and operation.startswith(("PATCH", "DELETE", "POST")):
            allowed = False  # a Member may not manage a workspace token, whatever the scope
        cell = f"{label}: {operation} -> {response.status_code}"
        if response.status_code >= 500:
            failures.append(f"{cell}: server error")
        elif scopes is None and response.status_code not in (400, 401):
            failures.append(f"{cell}: should be 401")
        elif not allowed and response.status_code not in (401, 403, 404):
            failures.append(f"{cell}: should be refused (needs {needed})")
        elif not allowed and changed:
            failures.append(f"{cell}: refused but changed {changed}")
        elif allowed and response.status_code in (401, 403, 404):
            failures.append(f"{cell}: the table allows it ({needed})")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("operation", [op for op in OPERATIONS if "{token_id}" in op])
def test_another_workspace_token_cannot_touch_ours(world: World, operation: str):
    """Globex's all-scope token naming Acme's token gets 404 and changes nothing."""
    _, secret = world.globex.tokens_by_scope["all"]
    response, changed = _call(world, operation, secret, world.acme.token.public_id)
    assert response.status_code == 404, response.content
    assert response.json()["error"] == "not_found"
    assert not changed


def test_another_workspace_token_sees_ours_as_inactive(world: World):
    """Introspection from Globex says an Acme token is not active and tells nothing else."""
    _, secret = world.globex.tokens_by_scope["all"]
    response, _ = _call(world, "POST /api/v1/introspect", secret, "")
    assert response.status_code == 200
    assert response.json() == {"active": False}


def test_another_workspace_token_lists_only_its_own(world: World):
    """Globex's list holds no Acme token."""
    _, secret = world.globex.tokens_by_scope["all"]
    response, _ = _call(world, "GET /api/v1/tokens", secret, "")
    listed = {token["id"] for token in response.json()}
    acme_ids = set(world.acme.workspace.tokens.values_list("public_id", flat=True))
    assert listed and not listed & acme_ids
