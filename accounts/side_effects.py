"""Run side effects (emails) as tasks once the change they report commits; log their failures.

What a person asked for is done once its transaction commits: a side effect
that fails afterwards (an SMTP server down, a header it refuses) must not turn
the answer into an error, or a token's one-time secret would be lost with it.
So each side effect is a task (Django's Tasks framework, settings.TASKS): it
runs inline after commit by default (`make run`, tests) and in the worker
(`manage.py run_worker`) with KEYWARD_TASKS=database. A task takes only JSON
(ids, addresses, template names, URLs), never a secret, and loads the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.db import transaction
from django.tasks import Task, TaskResultStatus
from django_tasks_db import DatabaseBackend

logger = logging.getLogger("keyward.side_effects")


class SideEffectsFailed(Exception):
    """Some side effects of a task failed (each one is logged); the task is recorded as failed."""


def enqueue_after_commit(
    task: Task, *args, on_failure: Callable[[], object] | None = None, **kwargs
) -> None:
    """Queue `task(*args, **kwargs)` so that it runs only once the current transaction commits.

    A task queued in the database is written inside the transaction: it commits
    with the change it reports or not at all (a crash right after the commit
    cannot lose it), and no worker sees it before. Other backends (the inline
    one) are called in on_commit; a task that fails there is logged by the task
    and `on_failure` is called, so that a batch job can count it. A task queued
    for the worker fails, if ever, after the caller is gone: see its result.
    """
    if isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(*args, **kwargs)
        return

    def enqueue() -> None:
        try:
            failed = task.enqueue(*args, **kwargs).status == TaskResultStatus.FAILED
        except Exception:  # the task never ran; its arguments are no secret
            logger.exception("Could not run task %s; the change it reports was kept.", task.name)
            failed = True
        if failed and on_failure is not None:
            on_failure()

    transaction.on_commit(enqueue)


def attempt_each(effects: Iterable[tuple[str, Callable[[], object]]]) -> int:
    """Run each `(what, effect)`, logging each failure; raise SideEffectsFailed after the last.

    One failing effect (a bad address) never stops the others. `what` names the
    effect in the log and must never hold a secret. Return how many worked.
    """
    done, failed = 0, []
    for what, effect in effects:
        try:
            effect()
        except Exception:
            logger.exception("Could not %s; the change it reports was kept.", what)
            failed.append(what)
        else:
            done += 1
    if failed:
        raise SideEffectsFailed(f"Could not {'; '.join(failed)}.")
    return done
