"""Benchmark the API against the bare view: whoami and introspect (one query each)."""

from __future__ import annotations

from contextlib import contextmanager
from urllib.parse import urlencode

from django.db import connection
from django.test import Client

from bench.fixtures import bench_tokens
from bench.measure import (
    QueryCounter,
    header,
    p50_p99,
    round_medians,
    route_rows,
    row,
    spread,
    timings,
)
from bench.urls import BARE, BARE_QUERY

WHOAMI, INTROSPECT = "/api/v1/whoami", "/api/v1/introspect"
ROUNDS = 50


@contextmanager
def usage_counting(enabled: bool):
    """Announce token uses to their observers (usage counting, as deployed), or not."""
    from tokens import auth

    if enabled:
        yield
        return
    observers, auth._use_observers = auth._use_observers, ()
    try:
        yield
    finally:
        auth._use_observers = observers


def run(requests: int, counted_requests: int) -> None:
    """Print the authentication benchmark table."""
    from tokens.lookup_limit import failure_limiter
    from tokens.secrets import BASE62, checksum

    token, introspector = bench_tokens()
    client = Client()
    routes = {
        "bare": (BARE, {}),
        "bare+query": (BARE_QUERY, {}),
        "whoami": (WHOAMI, {"headers": {"Authorization": f"Bearer {token}"}}),
        "uncounted": (WHOAMI, {"headers": {"Authorization": f"Bearer {token}"}}),
        "introspect": (
            INTROSPECT,
            {
                "method": "post",
                # RFC 7662's form body, encoded once: a dict would be multipart, encoded
                # by the test client on every request, in this process's CPU time.
                "data": urlencode({"token": token}),
                "content_type": "application/x-www-form-urlencoded",
                "headers": {"Authorization": f"Bearer {introspector}"},
            },
        ),
    }
    for path, kwargs in routes.values():  # warm imports, URL resolver, statement caches
        timings(client, path, 300, **kwargs)

    # Interleaved rounds, so that machine noise (other processes) hits every route alike;
    # the ratios compare each round's medians of this process's CPU time, which other
    # processes on the machine hardly change (on SQLite it is all of a request's work).
    times: dict[str, list[float]] = {name: [] for name in routes}
    ratios: dict[str, list[float]] = {
        "bare+query": [],
        "whoami": [],
        "uncounted": [],
        "introspect": [],
    }
    over_query: dict[str, list[float]] = {"whoami": [], "introspect": []}
    for _ in range(ROUNDS):
        medians = round_medians(client, routes, requests // ROUNDS // 2, times, usage_counting)
        for name in ratios:
            ratios[name].append(medians[name] / medians["bare"])
        for name in over_query:
            over_query[name].append(medians[name] / medians["bare+query"])

    whoami_path, whoami_kwargs = routes["whoami"]
    with QueryCounter() as counted:
        timings(client, whoami_path, counted_requests, **whoami_kwargs)
    introspect_path, introspect_kwargs = routes["introspect"]
    with QueryCounter() as introspect_queries:
        timings(client, introspect_path, 100, **introspect_kwargs)

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
        f"API on {connection.vendor}: {len(times['bare']):,} requests per route in {ROUNDS} "
        "interleaved rounds, Django test client, one process, the same middleware and "
        "production logging (a JSON line per request, to /dev/null) for every route"
    )
    route_rows(
        times,
        (
            ("bare", f"GET {BARE} (bare Django JSON view)"),
            ("bare+query", f"GET {BARE_QUERY} (the bare view plus one SELECT 1)"),
            ("whoami", f"GET {WHOAMI} with a valid token (usage counted)"),
            ("uncounted", f"GET {WHOAMI}, the same, usage not counted"),
            ("introspect", f"POST {INTROSPECT} of a valid token"),
        ),
    )
    for name, target in (
        ("bare+query", ""),
        ("whoami", " (target <= 1.30)"),
        ("uncounted", " (no usage counting)"),
        ("introspect", ""),
    ):
        row(f"{name} / bare, CPU time, median of rounds{target}", spread(ratios[name]))
    for name, per_round in over_query.items():
        row(f"{name} / bare+query, CPU time, median of rounds", spread(per_round))
    row(
        f"SQL queries per whoami ({counted_requests:,} requests)",
        f"{counted.queries / counted_requests:.4f} ({counted.queries:,} in all)",
    )
    row(f"writes in those {counted_requests:,} requests (one token)", f"{counted.writes}")
    row("SQL queries per introspect (100 requests)", f"{introspect_queries.queries / 100:g}")
    row(
        "malformed token: p50 (µs) / queries per request",
        f"{p50_p99(malformed_times).split(' / ')[0]} / {malformed_queries.queries / 20:g}",
    )
    row(
        "well-formed unknown token: p50 (µs) / queries per request",
        f"{p50_p99(unknown_times).split(' / ')[0]} / {unknown_queries.queries / 20:g}",
    )
