"""Prometheus metrics: what requests, API authentications and token changes were counted.

Under gunicorn every worker is a process with its own counters. With the
environment variable PROMETHEUS_MULTIPROC_DIR set (before the processes start,
to an empty folder writable by them) prometheus-client keeps each process's
values in files there and a scrape adds them all up; gunicorn's child_exit hook
calls `gunicorn_child_exit` so that a dead worker's live values are dropped.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from django.db import DatabaseError
from django.db.models import Count
from django.tasks import TaskResultStatus
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger("keyward.ops.metrics")
# Methods keep their name; anything else a client sends is one label, so it cannot
# grow the number of series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# This process's metrics (without multiprocess mode, the scrape reads them from here).
REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "keyward_http_requests",
    "HTTP requests answered, by route name (the URL pattern's name), method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "keyward_http_request_duration_seconds",
    "Time to answer HTTP requests, by route name, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
API_AUTHENTICATIONS = Counter(
    "keyward_api_authentications",
    "API credential checks, by outcome: ok, or why the request was refused.",
    ["reason"],
    registry=REGISTRY,
)
TOKENS_ISSUED = Counter(
    "keyward_tokens_issued",
    "Tokens issued, by kind and how (create, rotation).",
    ["kind", "via"],
    registry=REGISTRY,
)
TOKENS_REVOKED = Counter(
    "keyward_tokens_revoked",
    "Tokens revoked, by reason.",
    ["reason"],
    registry=REGISTRY,
)

_request_series: dict[tuple[str, str, str], tuple] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration."""
    key = (route, method if method in METHODS else "other", str(status))
    series = _request_series.get(key)
    if series is None:  # once per label set: labels() takes a lock and builds a tuple
        series = _request_series[key] = (REQUESTS.labels(*key), LATENCY.labels(*key))
    series[0].inc()
    series[1].observe(seconds)


class DatabaseCollector(Collector):
    """Read, at scrape time, what the database knows: the task queue and the worker's last beat."""

    def collect(self):
        from django_tasks_db.models import DBTaskResult

        from ops.models import WorkerHeartbeat

        try:
            counts = dict(
                DBTaskResult.objects.order_by()
                .values_list("status")
                .annotate(count=Count("pk"))
                .values_list("status", "count")
            )
            last_beat = WorkerHeartbeat.objects.order_by("-seen_at").values_list(
                "seen_at", flat=True
            )[:1]
            last_beat = next(iter(last_beat), None)
        except DatabaseError as error:
            logger.warning("Metrics left out the task queue: the database failed (%s)", error)
            return
        tasks = GaugeMetricFamily(
            "keyward_tasks",
            "Tasks in the database queue, by status (ready: waiting for the worker).",
            labels=["status"],
        )
        for status in TaskResultStatus:
            tasks.add_metric([status.value.lower()], counts.get(status.value, 0))
        yield tasks
        if last_beat is not None:
            yield GaugeMetricFamily(
                "keyward_worker_heartbeat_age_seconds",
                "Seconds since a task worker last said it was alive.",
                value=(timezone.now() - last_beat).total_seconds(),
            )


def _multiproc_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def exposition() -> bytes:
    """Return every metric in Prometheus' text format: all processes' when in multiprocess mode."""
    path = _multiproc_dir()
    if path:
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes, path=path)
    else:
        processes = REGISTRY
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    return generate_latest(processes) + generate_latest(database)


def gunicorn_on_starting(server) -> None:
    """Empty the multiprocess folder before gunicorn starts its workers (its on_starting hook).

    Files of an earlier run would otherwise be added to this run's counts.
    """
    path = _multiproc_dir()
    if not path:
        return
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for entry in folder.glob("*.db"):
        entry.unlink()


def gunicorn_child_exit(server, worker) -> None:
    """Drop a dead worker's live values from the multiprocess files (gunicorn's child_exit hook)."""
    if _multiproc_dir():
        multiprocess.mark_process_dead(worker.pid)
