"""Readiness checks: can this process serve requests right now?

Each check answers ok or why not, in words an operator can act on (never an
address, a password or a traceback: /readyz answers anyone who can reach it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts import shared_cache
from ops import worker as task_worker

logger = logging.getLogger("keyward.ops.health")


@dataclass(frozen=True)
class Result:
    ok: bool
    reason: str = ""

    def as_json(self) -> dict:
        return {"ok": True} if self.ok else {"ok": False, "reason": self.reason}


class _Migrated:
    """Remember, per process, that the database was found fully migrated: that stays true
    until new code (a new process) brings new migrations."""

    known = False


def database() -> Result:
    """Check that the database answers a query."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        logger.warning("Readiness: the database is unreachable (%s)", error)
        return Result(False, "the database is unreachable")
    return Result(True)


def migrations() -> Result:
    """Check that every migration of this code is applied."""
    if _Migrated.known:
        return Result(True)
    connection = connections[DEFAULT_DB_ALIAS]
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        logger.warning("Readiness: migrations could not be read (%s)", error)
        return Result(False, "the applied migrations could not be read")
    if plan:
        return Result(False, f"{len(plan)} migration(s) not applied: run manage.py migrate")
    _Migrated.known = True
    return Result(True)


def redis() -> Result:
    """Check that the shared Redis cache answers (accounts.shared_cache asks it for real)."""
    cache = shared_cache.status()
    if not cache.reachable:
        logger.warning(
            "Readiness: the shared cache (%s) is unreachable (%s)", cache.backend, cache.reason
        )
        return Result(False, "Redis (the shared cache) is unreachable")
    return Result(True)


def worker() -> Result:
    """Check that a task worker said it was alive recently."""
    limit = settings.KEYWARD_WORKER_HEARTBEAT_MAX_AGE
    try:
        seen_at = task_worker.last_heartbeat()
    except DatabaseError:
        return Result(False, "the worker's heartbeat could not be read")
    if seen_at is None:
        return Result(False, "no task worker has started (manage.py run_worker)")
    if task_worker.worker_is_alive():
        return Result(True)
    age = (timezone.now() - seen_at).total_seconds()
    return Result(False, f"no task worker seen for {int(age)} s (limit {limit} s)")


def _redis_configured() -> bool:
    return shared_cache.backend_name() == "redis"


# Every check, with when it applies; the order is the order of the report.
CHECKS: dict[str, tuple[Callable[[], Result], Callable[[], bool]]] = {
    "database": (database, lambda: True),
    "migrations": (migrations, lambda: True),
    "redis": (redis, _redis_configured),
    "worker": (worker, task_worker.worker_needed),
}
NEEDS_DATABASE = {"migrations", "worker"}


def readiness(skip: set[str] = frozenset()) -> dict[str, Result]:
    """Run the checks that apply to this deployment, but those in `skip`; return each result."""
    results: dict[str, Result] = {}
    for name, (check, applies) in CHECKS.items():
        if name in skip or not applies():
            continue
        if name in NEEDS_DATABASE and not results.get("database", Result(True)).ok:
            results[name] = Result(False, "not checked: the database is unreachable")
            continue
        results[name] = check()
    return results
