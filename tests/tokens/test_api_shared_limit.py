"""The API's failed-lookup limit: counted in this process and in the shared cache, never
asking the cache about a valid token, and limiting per process while Redis is down."""

from __future__ import annotations

import logging

import pytest
from django.core.cache import cache
from django.test import override_settings

from accounts import shared_cache
from tests.factories import issue
from tests.tokens.test_api import Api
from tokens.lookup_limit import failure_limiter, shared_failure_limiter

pytestmark = pytest.mark.django_db

IP = "192.0.2.10"  # Api's address


@pytest.fixture
def secret(workspace, admin_user) -> str:
    return issue(admin_user, workspace, scopes=("tokens:read", "tokens:introspect"))[1]


@pytest.fixture
def cache_calls(monkeypatch) -> list:
    """Record every use of the shared cache (and still make it)."""
    calls = []
    real = shared_cache.use

    def recording(operation):
        calls.append(operation)
        return real(operation)

    monkeypatch.setattr(shared_cache, "use", recording)
    return calls


def test_a_valid_token_costs_no_cache_call(secret, cache_calls):
    assert Api(secret).get("/whoami").status_code == 200
    assert Api(secret).form("/introspect", {"token": secret}).status_code == 200

    assert cache_calls == []
    Api("kww_garbage").get("/whoami")
    assert len(cache_calls) == 1  # a failure is counted in the shared cache


@override_settings(KEYWARD_API_AUTH_FAILURES_PER_IP=3)
def test_another_process_s_failures_count_against_this_one(secret):
    for _ in range(3):  # as if another worker process had counted them
        shared_failure_limiter().record_failure(IP)

    refused = Api("kww_garbage").get("/whoami")

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert failure_limiter().retry_after(IP) > 0  # remembered here: no more round trips
    assert Api(secret).get("/whoami").status_code == 200


@override_settings(KEYWARD_API_AUTH_FAILURES_PER_IP=3)
def test_failures_are_counted_in_the_shared_cache(secret):
    for _ in range(2):
        Api("kww_garbage").get("/whoami")

    assert cache.get(shared_failure_limiter()._key(IP)) == 2


@override_settings(KEYWARD_API_AUTH_FAILURES_PER_IP=3)
def test_while_redis_is_down_valid_tokens_are_served_and_failures_limited_here(
    redis_cache, secret, caplog
):
    redis_cache.stop()
    with caplog.at_level(logging.WARNING, logger="accounts.shared_cache"):
        answers = [Api("kww_garbage").get("/whoami").status_code for _ in range(5)]
        valid = Api(secret).get("/whoami")

    assert answers == [401, 401, 401, 429, 429]
    assert valid.status_code == 200
    outages = [r for r in caplog.records if "Shared cache unreachable" in r.getMessage()]
    assert len(outages) == 1


@override_settings(KEYWARD_API_AUTH_FAILURES_PER_IP=3)
def test_once_redis_is_back_failures_are_shared_again(redis_cache, secret):
    redis_cache.stop()
    Api("kww_garbage").get("/whoami")
    redis_cache.start()

    Api("kww_garbage").get("/whoami")

    assert cache.get(shared_failure_limiter()._key(IP)) == 1
    assert shared_cache.status().reachable
    assert Api(secret).get("/whoami").status_code == 200
