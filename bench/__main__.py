"""Run the benchmarks against a throwaway database and print a table.

uv run python -m bench            # SQLite, or PostgreSQL when DATABASE_URL is set
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import time
import warnings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
warnings.filterwarnings("ignore", message="No directory at")

import django  # noqa: E402

django.setup()

from bench.bare import add_bare_route  # noqa: E402

add_bare_route()  # before the URLconf is first loaded

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
COUNTED_REQUESTS = int(os.environ.get("BENCH_COUNTED_REQUESTS", "10000"))


def timings(client: Client, path: str, n: int, **headers) -> list[float]:
    """Return the seconds each of `n` GET requests to `path` took."""
    out = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        out.append(time.perf_counter() - start)
        if response.status_code not in (200, 401):
            sys.exit(f"{path} answered {response.status_code}: {response.content[:200]!r}")
    return out


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


def pct(values: list[float], q: float) -> float:
    """Return the q-th percentile of `values`, in microseconds."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1e6


def row(label: str, values: str) -> None:
    print(f"| {label:<58} | {values:>28} |")


def main() -> None:
    logging.disable(logging.WARNING)  # failed authentications log one line each
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        from bench.fixtures import bench_token

        run(bench_token())
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run(token: str) -> None:
    from tokens.api import failure_limiter
    from tokens.secrets import BASE62, checksum

    client = Client()
    auth = {"Authorization": f"Bearer {token}"}
    # Warm both paths (imports, URL resolver, statement caches).
    timings(client, "/api/v1/whoami", 200, **auth)
    timings(client, "/api/v1/bench-bare", 200)

    bare, authed = [], []
    for _ in range(5):  # interleave so that machine noise hits both alike
        bare += timings(client, "/api/v1/bench-bare", REQUESTS // 5)
        authed += timings(client, "/api/v1/whoami", REQUESTS // 5, **auth)

    with QueryCounter() as counted:
        timings(client, "/api/v1/whoami", COUNTED_REQUESTS, **auth)

    malformed = {"Authorization": "Bearer kww_not-a-token"}
    random_part = BASE62[:30]
    unknown = {"Authorization": f"Bearer kww_{random_part}{checksum(random_part)}"}
    with QueryCounter() as malformed_queries:
        malformed_times = timings(client, "/api/v1/whoami", 20, **malformed)
    failure_limiter().reset()
    with QueryCounter() as unknown_queries:
        unknown_times = timings(client, "/api/v1/whoami", 20, **unknown)

    bare_total, authed_total = sum(bare), sum(authed)
    print(
        f"\nKeyward API authentication benchmark on {connection.vendor} "
        f"({len(bare)} requests per path, Django test client, one process)\n"
    )
    row("measure", "figure")
    row("-" * 58, "-" * 28)
    row("bare JSON view (same body, no auth): requests/s", f"{len(bare) / bare_total:,.0f}")
    row("GET /api/v1/whoami with a valid token: requests/s", f"{len(authed) / authed_total:,.0f}")
    row("time ratio whoami / bare (target <= 1.10)", f"{authed_total / bare_total:.3f}")
    row("bare view p50 / p99 (µs)", f"{pct(bare, 50):,.0f} / {pct(bare, 99):,.0f}")
    row("whoami p50 / p99 (µs)", f"{pct(authed, 50):,.0f} / {pct(authed, 99):,.0f}")
    row(
        f"SQL queries per authenticated request ({COUNTED_REQUESTS:,} requests)",
        f"{counted.queries / COUNTED_REQUESTS:.4f} ({counted.queries:,} in all)",
    )
    row(f"writes in those {COUNTED_REQUESTS:,} requests (one token)", f"{counted.writes}")
    row(
        "malformed token: p50 (µs) / queries per request",
        f"{pct(malformed_times, 50):,.0f} / {malformed_queries.queries / 20:g}",
    )
    row(
        "well-formed unknown token: p50 (µs) / queries per request",
        f"{pct(unknown_times, 50):,.0f} / {unknown_queries.queries / 20:g}",
    )
    print()


if __name__ == "__main__":
    main()
