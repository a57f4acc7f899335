"""Profile the hot paths with cProfile: the gateway check, whoami, and the bare views beside them.

    uv run python -m bench.profile_hot                       # the check, 3,000 requests
    PROFILE_ROUTE=whoami uv run python -m bench.profile_hot  # check, whoami, bare, bare+query
    PROFILE_SORT=cumulative PROFILE_TOP=60 uv run python -m bench.profile_hot
    PROFILE_ROUTE=whoami scripts/with-postgres.sh uv run python -m bench.profile_hot
    PROFILE_CPU=1 PROFILE_DUMP=/tmp/check.prof uv run python -m bench.profile_hot

Prints the functions by own time (PROFILE_SORT=tottime, the default) over PROFILE_REQUESTS
requests, usage counted as deployed; PROFILE_CPU=1 times this thread's CPU rather than the
wall clock (waits for the database left out), PROFILE_DUMP saves the stats for pstats.
Profiles, not timings: cProfile slows Python calls unevenly; compare CPU per request with
`BENCH_ONLY=gateway uv run python -m bench` (its last table: the hot paths).
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
warnings.filterwarnings("ignore", message="No directory at")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from bench.fixtures import bench_tokens  # noqa: E402
from bench.gateway import CHECK, bench_gateway_tokens, nginx_headers  # noqa: E402
from bench.profiling import profile, throwaway_database  # noqa: E402
from bench.urls import BARE, BARE_QUERY  # noqa: E402

settings.ROOT_URLCONF = "bench.urls"

REQUESTS = int(os.environ.get("PROFILE_REQUESTS", "3000"))
ROUTE = os.environ.get("PROFILE_ROUTE", "check")


def _route() -> tuple[str, dict]:
    """Return the path and the test client's arguments of the profiled route."""
    if ROUTE == "check":
        reader, _other = bench_gateway_tokens()
        return CHECK, {"headers": nginx_headers(reader)}
    if ROUTE == "whoami":
        token, _introspector = bench_tokens()
        return "/api/v1/whoami", {"headers": {"Authorization": f"Bearer {token}"}}
    return {"bare": BARE, "bare+query": BARE_QUERY}[ROUTE], {}


def main() -> None:
    """Create a test database, profile REQUESTS requests of the route, print, drop the database."""
    with throwaway_database():
        path, kwargs = _route()
        client = Client()
        for _ in range(300):  # warm imports, the URL resolver, compiled rules, statements
            assert client.get(path, **kwargs).status_code == 200
        stats = profile(REQUESTS, client.get, path, **kwargs)
        print(f"{ROUTE} on {connection.vendor}, {REQUESTS} requests")
        print(stats)


if __name__ == "__main__":
    main()
