"""Shared fixtures: the demo-like workspace, users for each role, and browser set-up."""

from __future__ import annotations

import os
import runpy
from pathlib import Path
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import Client

from accounts import shared_cache
from accounts.models import Membership, User, Workspace
from accounts.roles import Role
from gateway import usage
from tests import servers
from tests.factories import signed_in
from tokens.lookup_limit import failure_limiter

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _clear_cache():
    """Start every test with an empty cache, so rate limits do not leak between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_failure_limiter():
    """Give every test a new per-process token lookup limiter built from the current settings."""
    failure_limiter.cache_clear()
    yield
    failure_limiter.cache_clear()


@pytest.fixture(autouse=True)
def _fresh_usage_buffer(monkeypatch):
    """Give every test an empty in-process usage buffer: one test's counts never reach another
    test's database, nor, at exit, a database already dropped."""
    monkeypatch.setattr(usage, "buffer", usage.MemoryBuffer())


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """Start one redis-server for the tests that need one; stopped when the session ends."""
    if servers.redis_binary() is None:
        pytest.skip("redis-server is not installed (scripts/ensure-services.sh installs it)")
    redis = servers.RedisServer(tmp_path_factory.mktemp("redis"))
    try:
        yield redis.start()
    finally:
        redis.stop()


def production_caches(redis_url: str) -> dict:
    """Return the CACHES that config/settings.py makes of REDIS_URL=`redis_url`."""
    settings_file = Path(__file__).resolve().parent.parent / "config" / "settings.py"
    with mock.patch.dict(os.environ, {"REDIS_URL": redis_url}):
        return runpy.run_path(str(settings_file))["CACHES"]


@pytest.fixture
def redis_cache(redis_server, settings, monkeypatch):
    """Point Django's cache at the test Redis as REDIS_URL does, empty; yield the server.

    A test may stop the server; the next test that asks for it gets it running again.
    Failed calls are retried at once (no pause after an outage), so recovery shows.
    """
    redis_server.start()
    settings.CACHES = production_caches(redis_server.url)
    monkeypatch.setattr(shared_cache, "RETRY_SECONDS", 0)
    shared_cache.forget_outage()
    cache.clear()
    yield redis_server
    shared_cache.forget_outage()


@pytest.fixture
def workspace(db) -> Workspace:
    return Workspace.objects.create(name="Acme", slug="acme")


@pytest.fixture
def retrievable(workspace: Workspace):
    """Make the workspace keep encrypted copies of the tokens issued from now on."""
    from tokens.models import RevealPolicy
    from tokens.services import workspace_policy

    policy = workspace_policy(workspace)
    policy.reveal_policy = RevealPolicy.RETRIEVABLE
    policy.save()
    return policy


@pytest.fixture
def other_workspace(db) -> Workspace:
    return Workspace.objects.create(name="Globex", slug="globex")


def make_member(workspace: Workspace, email: str, role: Role) -> User:
    """Create a user with `role` in `workspace`."""
    user = User.objects.create_user(email, PASSWORD)
    Membership.objects.create(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def admin_user(workspace) -> User:
    return make_member(workspace, "admin@example.com", Role.ADMIN)


@pytest.fixture
def manager_user(workspace) -> User:
    return make_member(workspace, "manager@example.com", Role.MANAGER)


@pytest.fixture
def member_user(workspace) -> User:
    return make_member(workspace, "member@example.com", Role.MEMBER)


@pytest.fixture
def operator(db) -> User:
    """Return a superuser who signs in to /admin/."""
    return User.objects.create_superuser("operator@example.com", PASSWORD)


@pytest.fixture
def operator_client(operator) -> Client:
    """Return a test client signed in to /admin/ as the operator."""
    return signed_in(operator)


@pytest.fixture
def outsider(other_workspace) -> User:
    """Return a user who belongs to another workspace only."""
    return make_member(other_workspace, "outsider@example.com", Role.ADMIN)


@pytest.fixture(scope="session")
def oidc_signing_key():
    """Return the RSA key the test OpenID Connect provider signs with (made once per run)."""
    from tests.oidc_provider import new_rsa_key

    return new_rsa_key()


@pytest.fixture
def oidc_provider(settings, oidc_signing_key):
    """Start a local OpenID Connect provider and point Keyward's single sign-on at it."""
    from accounts.signin import oidc_config
    from tests.oidc_provider import OIDCProvider

    provider = OIDCProvider(key=oidc_signing_key).start()
    try:
        settings.KEYWARD_OIDC_ISSUER = provider.issuer
        settings.KEYWARD_OIDC_CLIENT_ID = provider.client_id
        settings.KEYWARD_OIDC_CLIENT_SECRET = provider.client_secret
        oidc_config.forget()
        yield provider
    finally:
        provider.stop()
        oidc_config.forget()


# Browser tests -----------------------------------------------------------------

CHROMIUM = os.environ.get("KEYWARD_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium: as root it needs --no-sandbox; the closed network, quiet."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


def pytest_collection_modifyitems(items):
    """Let the ORM run beside Playwright's event loop in browser tests."""
    if any(item.get_closest_marker("playwright") for item in items):
        os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
