"""What operations keep in the database: the task worker's heartbeat, the shared cache's outages."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """The last time a task worker process said it was alive, one row per worker."""

    worker = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-seen_at"]

    def __str__(self) -> str:
        return f"{self.worker} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class CacheOutage(models.Model):
    """An outage of the shared cache (Redis) that one machine's processes have logged.

    The process that inserts the row logs the outage; the one that deletes it logs
    its end (ops.outages). One row per machine, so each machine says once what it sees.
    """

    host = models.CharField(max_length=255, unique=True)
    since = models.DateTimeField()
    reason = models.CharField(max_length=500)

    def __str__(self) -> str:
        return f"{self.host} since {self.since:%Y-%m-%d %H:%M:%S}: {self.reason}"
