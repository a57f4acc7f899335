"""Counting holds across worker processes: the database cache and Redis count each request once."""

from __future__ import annotations

import pytest

from tests.accounts.test_database_cache import _database_url
from tests.forked import run_workers

pytestmark = pytest.mark.django_db

COUNT_REQUESTS = """
from datetime import UTC, datetime
from django.core.cache import caches
from django.core.management import call_command
from gateway import limit_counts
from gateway.limit_spec import Limits

call_command("createcachetable", verbosity=0)  # stdout carries only the answers
limits = Limits(quota=60, quota_period="total")
cache = caches["default"]  # the backend, as accounts.shared_cache.use hands it over
counter = limit_counts.counter(cache)

def work(requests):
    now = datetime.now(UTC)
    allowed = sum(
        counter.count(cache, 424242, limits, now).refused is None for _ in range(requests)
    )
    return [allowed, counter.used(cache, [limit_counts.quota_key(424242, limits, now)])]
"""


def _allowed_and_used(env: dict) -> tuple[int, int]:
    answers = run_workers(COUNT_REQUESTS, [[25, 25, 25], [0]], env)
    allowed = sum(answer[0] for answer in answers)
    used = next(iter(answers[-1][1].values()))
    return allowed, used


def test_a_quota_counted_by_several_processes_in_the_database_cache(tmp_path):
    env = {"DATABASE_URL": _database_url(tmp_path), "REDIS_URL": ""}
    assert _allowed_and_used(env) == (60, 60)


def test_a_quota_counted_by_several_processes_in_redis(tmp_path, redis_cache):
    env = {"DATABASE_URL": _database_url(tmp_path), "REDIS_URL": redis_cache.url}
    assert _allowed_and_used(env) == (60, 60)
