"""The database cache (the default without REDIS_URL): migrate makes its table, counts hold."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from accounts.signin_limit import login_limiters
from tests.conftest import PASSWORD
from tests.forked import run_workers

pytestmark = pytest.mark.django_db

TABLE = "keyward_test_cache"


def _moment(value) -> datetime:
    """Return a timestamp read from the database as an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@pytest.fixture
def database_cache(settings):
    """Configure the database cache as production settings do, then run migrate."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": TABLE}
    }
    call_command("migrate", verbosity=0)
    return TABLE


def test_migrate_creates_the_database_cache_table(database_cache):
    assert database_cache in connection.introspection.table_names()


def test_migrate_creates_no_table_for_another_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": TABLE,
        }
    }

    call_command("migrate", verbosity=0)

    assert TABLE not in connection.introspection.table_names()


def test_console_sign_in_works_with_the_database_cache(client, database_cache, admin_user):
    wrong = client.post(
        reverse("accounts:login"), {"username": "admin@example.com", "password": "wrong"}
    )
    right = client.post(
        reverse("accounts:login"), {"username": "admin@example.com", "password": PASSWORD}
    )

    assert wrong.status_code == 200
    assert "do not match" in wrong.content.decode()
    assert right.status_code == 302


def test_failure_counters_are_kept_for_the_whole_window(database_cache, settings):
    settings.KEYWARD_LOGIN_FAILURE_WINDOW_SECONDS = 900
    by_account, _ = login_limiters()
    for _ in range(3):  # the second and later failures rewrite the count
        by_account.record_failure("admin@example.com")

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT expires FROM {connection.ops.quote_name(TABLE)}")  # noqa: S608
        expiries = [row[0] for row in cursor.fetchall()]

    assert len(expiries) == 2  # the count and the end of the window
    for expires in expiries:
        assert _moment(expires).timestamp() > time.time() + 600  # not the default 300 s
    assert by_account.retry_after("admin@example.com") == 0


COUNT_FAILURES = """
from django.core.cache import cache
from django.core.management import call_command
from accounts.ratelimit import FailureLimiter

call_command("createcachetable", verbosity=0)  # stdout carries only the answers
limiter = FailureLimiter("race", limit=10**6, window=900)

def work(failures):
    for _ in range(failures):
        limiter.record_failure("203.0.113.9")
    return cache.get(limiter._key("203.0.113.9"))
"""


def _database_url(tmp_path) -> str:
    """Return the test database's URL on PostgreSQL (row locks), else a new SQLite file's."""
    if connection.vendor != "postgresql":
        return f"sqlite:///{tmp_path / 'db.sqlite3'}"
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def test_failures_counted_at_once_by_several_processes_are_all_counted(tmp_path):
    # The database cache, as in production settings without REDIS_URL.
    env = {"DATABASE_URL": _database_url(tmp_path), "REDIS_URL": ""}

    answers = run_workers(COUNT_FAILURES, [[25, 25, 25], [0]], env)

    assert answers[-1] == 75
