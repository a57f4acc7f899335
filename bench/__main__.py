"""Run the benchmarks against a throwaway database and print their tables.

    uv run python -m bench      # SQLite, or PostgreSQL when DATABASE_URL is set
    BENCH_ONLY=api uv run python -m bench       # only some tables: api, gateway, console, scanning

Figures, not pass/fail: tests assert behaviour (query counts), this measures speed.
Logging runs as configured in production (JSON lines, INFO: one line per request
for the bare view and the API alike), written to /dev/null instead of stderr.
"""

from __future__ import annotations

import logging
import os
import warnings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
warnings.filterwarnings("ignore", message="No directory at")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from bench import api_auth, console, gateway, scanning  # noqa: E402

settings.ROOT_URLCONF = "bench.urls"  # Keyward's routes and the bare view

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "5000"))
COUNTED_REQUESTS = int(os.environ.get("BENCH_COUNTED_REQUESTS", "10000"))
CONSOLE_TOKENS = int(os.environ.get("BENCH_CONSOLE_TOKENS", "10000"))
CONSOLE_SAMPLES = int(os.environ.get("BENCH_CONSOLE_SAMPLES", "50"))
SCANNING_RUNS = int(os.environ.get("BENCH_SCANNING_RUNS", "5"))
ONLY = set(os.environ.get("BENCH_ONLY", "api,gateway,console,scanning").split(","))


def log_to_devnull() -> None:
    """Keep the configured handlers, formatters and levels, but write their lines nowhere.

    Every request pays for its log line as in production (formatting included);
    the tables stay readable.
    """
    sink = open(os.devnull, "w")  # noqa: SIM115 - open for the life of the process
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)


def main() -> None:
    """Create a test database, run each benchmark, print, and drop the database."""
    log_to_devnull()
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        if "api" in ONLY:
            api_auth.run(REQUESTS, COUNTED_REQUESTS)
        if "gateway" in ONLY:
            gateway.run(REQUESTS)
        if "console" in ONLY:
            console.run(CONSOLE_TOKENS, CONSOLE_SAMPLES)
        if "scanning" in ONLY:
            scanning.run(SCANNING_RUNS)
        print()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
