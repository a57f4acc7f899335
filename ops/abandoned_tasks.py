"""Queue again the tasks whose worker died while running them (SIGKILL, out of memory, lost host).

django-tasks-db claims a task by marking it RUNNING in a transaction of its own,
then runs it; the worker marks it finished when it returns or raises. A worker
killed in between never does, and no worker takes a RUNNING task: without this
module the task would stay RUNNING for ever, its emails never sent. A task is
abandoned when it has been RUNNING for KEYWARD_TASK_REQUEUE_AFTER seconds and
the worker that claimed it last beat more than KEYWARD_WORKER_HEARTBEAT_MAX_AGE
seconds ago (or never: its row is gone). It is marked READY again, so the next
free worker runs it from the start: at least once, so an email it had sent
before the worker died is sent again. A task abandoned MAX_CLAIMS times (one
that kills its worker, say by exhausting memory) is failed instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ops.models import WorkerHeartbeat

logger = logging.getLogger("keyward.ops.abandoned_tasks")
MAX_CLAIMS = 3


class TaskAbandoned(Exception):
    """Named in a failed task's result: its workers died while running it, MAX_CLAIMS times."""


@dataclass
class Recovered:
    """What one pass did: how many abandoned tasks it queued again, how many it failed."""

    requeued: int = 0
    failed: int = 0


def _abandoned(now: datetime) -> list[DBTaskResult]:
    """Return the tasks RUNNING long enough whose last claiming worker is not alive."""
    alive_since = now - timedelta(seconds=settings.KEYWARD_WORKER_HEARTBEAT_MAX_AGE)
    alive = set(
        WorkerHeartbeat.objects.filter(seen_at__gte=alive_since).values_list("worker", flat=True)
    )
    started_before = now - timedelta(seconds=settings.KEYWARD_TASK_REQUEUE_AFTER)
    running = DBTaskResult.objects.running().filter(started_at__lte=started_before)
    return [
        task
        for task in running.only("id", "task_path", "started_at", "worker_ids")
        if not task.worker_ids or task.worker_ids[-1] not in alive
    ]


def abandoned_tasks_recover(now: datetime | None = None) -> Recovered:
    """Queue again (or fail, after MAX_CLAIMS claims) the tasks abandoned by dead workers.

    Idempotent, and safe next to running workers and other passes: each task is
    changed only if it is still RUNNING from the claim that was read.
    """
    now = now or timezone.now()
    recovered = Recovered()
    for task in _abandoned(now):
        claim = DBTaskResult.objects.filter(
            pk=task.pk, status=TaskResultStatus.RUNNING, started_at=task.started_at
        )
        workers = ", ".join(task.worker_ids) or "an unknown worker"
        if len(task.worker_ids) >= MAX_CLAIMS:
            failed = claim.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                exception_class_path=f"{__name__}.{TaskAbandoned.__name__}",
                traceback=f"{TaskAbandoned.__name__}: the workers running it died ({workers}).",
            )
            if failed:
                logger.error(
                    "Failed task %s (%s): %s died running it.", task.pk, task.task_path, workers
                )
            recovered.failed += failed
        elif requeued := claim.update(status=TaskResultStatus.READY, started_at=None):
            logger.warning(
                "Queued task %s (%s) again: %s died running it.", task.pk, task.task_path, workers
            )
            recovered.requeued += requeued
    return recovered
