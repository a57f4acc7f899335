"""Time requests, count queries and print table rows."""

from __future__ import annotations

import statistics
import sys
import time

from django.db import connection
from django.test import Client


def timings(
    client: Client,
    path: str,
    n: int,
    *,
    method: str = "get",
    ok=(200, 401),
    clock=time.perf_counter,
    **kwargs,
):
    """Return the seconds each of `n` requests to `path` took (by `clock`: wall time)."""
    send = getattr(client, method)
    out = []
    for _ in range(n):
        start = clock()
        response = send(path, **kwargs)
        out.append(clock() - start)
        if response.status_code not in ok:
            sys.exit(f"{path} answered {response.status_code}: {response.content[:200]!r}")
    return out


def round_medians(
    client: Client, routes: dict[str, tuple[str, dict]], n: int, times: dict, counting, **options
) -> dict[str, float]:
    """Time one round of `routes`: `n` requests each by the wall clock (added to `times`), then
    `n` by this thread's CPU; return each route's CPU median.

    `counting(enabled)` counts usage as deployed on every route but "uncounted".
    """
    medians = {}
    for name, (path, kwargs) in routes.items():
        with counting(name != "uncounted"):
            times[name] += timings(client, path, n, **options, **kwargs)
            cpu = timings(client, path, n, clock=time.thread_time, **options, **kwargs)
        medians[name] = statistics.median(cpu)
    return medians


def pct(values: list[float], q: int) -> float:
    """Return the q-th percentile of `values`, in microseconds."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1e6


def p50_p99(values: list[float], unit: str = "µs") -> str:
    """Return "p50 / p99" of `values` in µs or ms."""
    scale = 1 if unit == "µs" else 1e-3
    return f"{pct(values, 50) * scale:,.{0 if unit == 'µs' else 1}f} / " + (
        f"{pct(values, 99) * scale:,.{0 if unit == 'µs' else 1}f}"
    )


def spread(values: list[float]) -> str:
    """Return the median of `values` with the lowest and the highest: "1.02 (0.91-1.22)"."""
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


class QueryCounter:
    """Count the SQL statements run on the default connection, and the writes among them."""

    def __init__(self) -> None:
        self.queries = 0
        self.writes = 0

    def __call__(self, execute, sql, params, many, context):
        self.queries += 1
        if not sql.lstrip().upper().startswith("SELECT"):
            self.writes += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> QueryCounter:
        self._wrapper = connection.execute_wrapper(self)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._wrapper.__exit__(*exc)


def header(title: str) -> None:
    print(f"\n{title}\n")
    row("measure", "figure")
    row("-" * 62, "-" * 28)


def row(label: str, values: str) -> None:
    print(f"| {label:<62} | {values:>28} |")


def route_rows(times: dict[str, list[float]], labels) -> None:
    """Print the requests per second and the p50 / p99 wall time of each (route, label)."""
    for name, label in labels:
        row(f"{label}: req/s", f"{len(times[name]) / sum(times[name]):,.0f}")
        row("  p50 / p99 wall time (µs)", p50_p99(times[name]))
