"""Say whether the task worker is alive: each worker process beats a row every few seconds.

`manage.py run_worker` beats while it runs (idle or busy) and removes its row
when it stops; a worker that dies leaves a row that grows old. /readyz asks
worker_is_alive() when worker_needed(). A beat says the process is alive, not
that a task finished. The beating thread also queues again, every
KEYWARD_WORKER_HEARTBEAT_MAX_AGE seconds, the tasks of workers that died while
running them (ops.abandoned_tasks).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.models import Max
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django.utils import timezone
from django_tasks_db import DatabaseBackend

from ops.abandoned_tasks import abandoned_tasks_recover
from ops.models import WorkerHeartbeat

logger = logging.getLogger("keyward.ops.worker")
# Rows of workers that died without removing theirs are erased when a worker starts.
FORGET_AFTER = timedelta(days=1)


def worker_name() -> str:
    """Return this process's name as a worker: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def beat(worker: str) -> None:
    """Record that `worker` is alive now."""
    WorkerHeartbeat.objects.update_or_create(worker=worker, defaults={"seen_at": timezone.now()})


def last_heartbeat() -> datetime | None:
    """Return when a worker last said it was alive, or None if none is known."""
    return WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))["last"]


def worker_needed() -> bool:
    """Return whether tasks wait for a worker (KEYWARD_TASKS=database) rather than run inline."""
    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


def worker_is_alive(now: datetime | None = None) -> bool:
    """Return whether a worker beat within KEYWARD_WORKER_HEARTBEAT_MAX_AGE seconds."""
    last = last_heartbeat()
    max_age = timedelta(seconds=settings.KEYWARD_WORKER_HEARTBEAT_MAX_AGE)
    return last is not None and (now or timezone.now()) - last <= max_age


class Heartbeat:
    """Beat for `worker` every `interval` seconds in a thread, from start() until stop().

    After a beat, at most every KEYWARD_WORKER_HEARTBEAT_MAX_AGE seconds (as soon as a
    dead worker can be told apart), queue again the tasks that dead workers abandoned.
    """

    def __init__(self, worker: str, interval: float) -> None:
        self.worker = worker
        self.interval = interval
        self._recover_at = 0.0  # time.monotonic() of the next recovery pass
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def start(self) -> None:
        """Beat at once (so the worker is known before its first poll), then every interval."""
        WorkerHeartbeat.objects.filter(seen_at__lt=timezone.now() - FORGET_AFTER).delete()
        beat(self.worker)
        self._thread.start()

    def stop(self) -> None:
        """Stop beating and remove the worker's row: it is no longer alive."""
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()
        WorkerHeartbeat.objects.filter(worker=self.worker).delete()

    def _run(self) -> None:
        try:
            while not self._stopped.wait(self.interval):
                try:
                    beat(self.worker)
                except DatabaseError as error:  # the database is down or locked: beat again later
                    logger.warning("Worker %s missed a heartbeat: %s", self.worker, error)
                    continue
                self._recover_abandoned_tasks()
        finally:
            connections.close_all()  # this thread's own connections

    def _recover_abandoned_tasks(self) -> None:
        if time.monotonic() < self._recover_at:
            return
        self._recover_at = time.monotonic() + settings.KEYWARD_WORKER_HEARTBEAT_MAX_AGE
        try:
            abandoned_tasks_recover()
        except Exception:  # never stop the beats for it: a worker that stops beating looks dead
            logger.exception("Worker %s could not recover abandoned tasks.", self.worker)
