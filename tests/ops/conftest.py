"""Fixtures for the operations tests: a database that is down, a fresh readiness memo."""

from __future__ import annotations

import pytest
from django.db import connection

from ops import health
from tests.servers import free_port


@pytest.fixture(autouse=True)
def _migrations_not_yet_checked():
    """Forget, before and after each test, that this process found the database migrated."""
    health._Migrated.known = False
    yield
    health._Migrated.known = False


@pytest.fixture
def database_down(transactional_db, monkeypatch):
    """Point Django's connection at a database that does not answer, then back.

    PostgreSQL: a loopback port nothing listens on. SQLite: a file in a folder that
    does not exist. The test database's own connection is kept aside meanwhile (an
    in-memory SQLite database lives only as long as it).
    """
    if connection.vendor == "sqlite":
        kept = connection.connection
        connection.connection = None
        monkeypatch.setitem(connection.settings_dict, "NAME", "/nonexistent-keyward/db.sqlite3")
    else:
        kept = None
        connection.close()
        monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
        monkeypatch.setitem(connection.settings_dict, "PORT", str(free_port()))
    yield
    monkeypatch.undo()
    if kept is not None:
        connection.connection = kept
    else:
        connection.close()
