"""Benchmark API authentication: whoami with a token against the same route without one."""

from __future__ import annotations

from django.db import connection
from django.test import Client

from bench.fixtures import bench_token
from bench.measure import QueryCounter, header, p50_p99, row, timings

WHOAMI, BARE = "/api/v1/whoami", "/api/v1/bench-bare"


def run(requests: int, counted_requests: int) -> None:
    """Print the authentication benchmark table."""
    from tokens.lookup_limit import failure_limiter
    from tokens.secrets import BASE62, checksum

    token = bench_token()
    client = Client()
    auth = {"headers": {"Authorization": f"Bearer {token}"}}
    timings(client, WHOAMI, 300, **auth)  # warm imports, URL resolver, statement caches
    timings(client, BARE, 300)

    bare, authed = [], []
    for _ in range(10):  # interleave so that machine noise hits both alike
        bare += timings(client, BARE, requests // 10)
        authed += timings(client, WHOAMI, requests // 10, **auth)

    with QueryCounter() as counted:
        timings(client, WHOAMI, counted_requests, **auth)

    malformed = {"headers": {"Authorization": "Bearer kww_not-a-token"}}
    random_part = BASE62[:30]
    unknown = {"headers": {"Authorization": f"Bearer kww_{random_part}{checksum(random_part)}"}}
    with QueryCounter() as malformed_queries:
        malformed_times = timings(client, WHOAMI, 20, **malformed)
    failure_limiter().reset()
    with QueryCounter() as unknown_queries:
        unknown_times = timings(client, WHOAMI, 20, **unknown)
    failure_limiter().reset()

    header(
        f"API authentication on {connection.vendor}: {len(bare):,} requests per route, "
        "Django test client, one process"
    )
    row("same route without authentication: requests/s", f"{len(bare) / sum(bare):,.0f}")
    row("GET /api/v1/whoami with a valid token: requests/s", f"{len(authed) / sum(authed):,.0f}")
    row("time ratio whoami / unauthenticated (target <= 1.10)", f"{sum(authed) / sum(bare):.3f}")
    row("unauthenticated p50 / p99 (µs)", p50_p99(bare))
    row("whoami p50 / p99 (µs)", p50_p99(authed))
    row(
        f"SQL queries per authenticated request ({counted_requests:,} requests)",
        f"{counted.queries / counted_requests:.4f} ({counted.queries:,} in all)",
    )
    row(f"writes in those {counted_requests:,} requests (one token)", f"{counted.writes}")
    row(
        "malformed token: p50 (µs) / queries per request",
        f"{p50_p99(malformed_times).split(' / ')[0]} / {malformed_queries.queries / 20:g}",
    )
    row(
        "well-formed unknown token: p50 (µs) / queries per request",
        f"{p50_p99(unknown_times).split(' / ')[0]} / {unknown_queries.queries / 20:g}",
    )
