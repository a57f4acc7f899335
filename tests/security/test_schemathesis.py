"""Schemathesis against /api/v1/openapi.json: every operation, every check, a fixed seed.

Positive cases (valid by the schema) must be accepted and negative ones refused
with a 4xx; no answer may be a 5xx or differ from the documented response
schema. The fuzzing token holds every scope; any operation on a token id is
pointed at a fresh throwaway token, so the fuzzer never revokes or rotates its
own, and the failure limiter is opened wide for the requests sent without it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings

from accounts.roles import Role
from tests.factories import actor_of, issue
from tokens.api import api
from tokens.lookup_limit import failure_limiter
from tokens.scopes import grantable_by
from tokens.services.resources import resource_create

ALL_SCOPES = ["workspace:read", "members:read", "tokens:read", "tokens:write", "tokens:introspect"]
MANAGER_SCOPES = set(grantable_by(Role.MANAGER))
# With the coverage phase, enough to reach every check on every operation in about 30 s.
MAX_EXAMPLES = 10
CONFIG = schemathesis.config.SchemathesisConfig.from_dict(
    {"seed": 20261202, "generation": {"mode": "all", "deterministic": True}}
)


# The document /api/v1/openapi.json serves, built without a request at collection time.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema(), config=CONFIG)
schema.app = get_wsgi_application()


@pytest.fixture(autouse=True)
def _room_to_fuzz(settings):
    """Let the fuzzer in: the WSGI client's host, no failure limit, the test's transaction kept.

    Django's test client keeps the connection across requests; a bare WSGI
    handler closes it at each request's end (PostgreSQL's test transaction with it).
    """
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.KEYWARD_API_AUTH_FAILURES_PER_IP = 10**9
    failure_limiter.cache_clear()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    failure_limiter.cache_clear()


@pytest.fixture
def fuzzer(workspace, admin_user) -> dict:
    """Return what a case needs: the fuzzing token, a maker of throwaway tokens, a resource."""
    _, secret = issue(admin_user, workspace, name="fuzzer", scopes=ALL_SCOPES)
    resource = resource_create(
        actor=actor_of(admin_user, workspace), workspace=workspace, name="billing"
    )
    count = iter(range(10**6))

    def throwaway() -> str:
        token, _ = issue(admin_user, workspace, name=f"throwaway-{next(count)}", scopes=ALL_SCOPES)
        return token.public_id

    return {"secret": secret, "throwaway": throwaway, "resource": resource.pk}


def _fit_to_the_workspace(case, fuzzer) -> None:
    """Give a schema-valid body the facts no schema can state: which ids exist, what is future."""
    if not case.meta.generation.mode.is_positive:
        return
    if case.query and {"from", "to"} & set(case.query):
        # A usage period's order and length: the default (the last 24 h) is always valid.
        case.query.pop("from", None)
        case.query.pop("to", None)
    if not isinstance(case.body, dict):
        return
    if case.body.get("resources"):
        case.body["resources"] = [fuzzer["resource"]]
    if isinstance(case.body.get("scopes"), list):
        # What a caller may grant depends on its role: a workspace token acts as a Manager.
        grantable = [scope for scope in case.body["scopes"] if scope in MANAGER_SCOPES]
        case.body["scopes"] = grantable or ["workspace:read"]
    if "expires_at" in case.body:
        case.body["expires_at"] = (timezone.now() + timedelta(days=1)).isoformat()
    rate = case.body.get("rate_limit")
    if isinstance(rate, dict) and isinstance(rate.get("burst"), int):
        # A burst below the rate is refused (gateway.limit_services); no schema says so.
        rate["burst"] = max(rate["burst"], rate.get("requests", 1))


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_every_promise_of_its_schema(case, fuzzer):
    # Each example starts from the same rows, so names never clash with an earlier example's.
    with transaction.atomic():
        if case.path_parameters and "token_id" in case.path_parameters:
            case.path_parameters["token_id"] = fuzzer["throwaway"]()
        _fit_to_the_workspace(case, fuzzer)
        case.call_and_validate(headers={"Authorization": f"Bearer {fuzzer['secret']}"})
        transaction.set_rollback(True)
