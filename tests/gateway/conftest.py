"""Fixtures for the gateway tests: a workspace with an HTTP service and tokens for it."""

from __future__ import annotations

import pytest

from gateway import compiled, services
from tests.factories import actor_of, issue
from tests.ops.conftest import database_down  # noqa: F401 - shared with the view tests
from tokens.services.resources import resource_create


@pytest.fixture(autouse=True)
def _fresh_rules():
    """Start each test without compiled rules (the versions would make them stale anyway)."""
    compiled.forget()
    yield
    compiled.forget()


@pytest.fixture
def admin_actor(admin_user, workspace):
    return actor_of(admin_user, workspace)


@pytest.fixture
def billing(admin_actor, workspace):
    """Return the service billing: api.example.com/billing and *.billing.example.com."""
    resource = resource_create(actor=admin_actor, workspace=workspace, name="Billing")
    return services.service_create(
        actor=admin_actor,
        resource=resource,
        slug="billing",
        rules=[("api.example.com", "/billing"), ("*.billing.example.com", "/")],
    )


@pytest.fixture
def reader(admin_user, workspace, billing):
    """Return the secret of a token that may read billing."""
    return issue(admin_user, workspace, "reader", scopes=["billing:read"])[1]


@pytest.fixture
def writer(admin_user, workspace, billing):
    """Return the secret of a token that may read and write billing."""
    return issue(admin_user, workspace, "writer", scopes=["billing:read", "billing:write"])[1]
