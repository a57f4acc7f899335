"""Profile the Tokens tab with cProfile: a page of 25 rows of 10,000 tokens, or the frame alone.

    uv run python -m bench.profile_console              # the full page, 300 requests
    PROFILE_PAGE=frame uv run python -m bench.profile_console   # a workspace without tokens
    PROFILE_SORT=cumulative PROFILE_TOP=60 uv run python -m bench.profile_console
    PROFILE_CALLERS=timesince uv run python -m bench.profile_console  # who calls it

Prints the functions by own time (PROFILE_SORT=tottime, the default) over PROFILE_REQUESTS
requests (300), and the queries of one request (PROFILE_CPU, PROFILE_DUMP: bench/profiling.py).
Profiles, not timings: cProfile slows Python calls unevenly; compare CPU per page with
`BENCH_ONLY=console uv run python -m bench`.
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

from bench.fixtures import bench_workspace, bench_workspace_with_tokens  # noqa: E402
from bench.profiling import profile, throwaway_database  # noqa: E402

settings.ROOT_URLCONF = "bench.urls"

REQUESTS = int(os.environ.get("PROFILE_REQUESTS", "300"))
PAGE = os.environ.get("PROFILE_PAGE", "full")


def main() -> None:
    """Create a test database, profile REQUESTS requests of the page, print, drop the database."""
    with throwaway_database():
        if PAGE == "frame":
            workspace, membership = bench_workspace("empty")
            user = membership.user
        else:
            workspace, user = bench_workspace_with_tokens(10_000)
        client = Client()
        client.force_login(user)
        url = f"/w/{workspace.slug}/settings/tokens/"
        for _ in range(20):
            assert client.get(url).status_code == 200
        queries = []

        def record(execute, sql, *args):
            queries.append(sql)
            return execute(sql, *args)

        with connection.execute_wrapper(record):
            client.get(url)
        print(profile(REQUESTS, client.get, url))
        print(f"{len(queries)} queries:")
        for sql in queries:
            print(" ", sql[:400])


if __name__ == "__main__":
    main()
