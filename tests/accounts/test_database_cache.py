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
