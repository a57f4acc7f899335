"""Two writers racing for row locks on PostgreSQL: hold one transaction open, start the
other, let the first commit once the second waits for it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection

WAIT = 30  # seconds: a bound for a stuck thread, not a timing assertion


def waiting_on_a_lock() -> int:
    """Return how many other sessions of this database wait for a lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def race(first: Callable, second: Callable) -> tuple[list[BaseException], bool]:
    """Run `first(holding, commit)` until it sets `holding` (its transaction open), then
    `second()` until it waits for a lock; then let `first` commit and both finish.

    Return what either raised, and whether the second waited for the first.
    """
    holding, commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run(step, *events):
        try:
            step(*events)
        except BaseException as error:  # what the tests are about: returned
            errors.append(error)
        finally:
            connection.close()

    one = threading.Thread(target=run, args=(first, holding, commit))
    one.start()
    assert holding.wait(WAIT)
    two = threading.Thread(target=run, args=(second,))
    two.start()
    for _ in range(WAIT * 100):
        if waiting_on_a_lock():
            break
        threading.Event().wait(0.01)
    waited = bool(waiting_on_a_lock())
    commit.set()
    one.join(WAIT)
    two.join(WAIT)
    return errors, waited
