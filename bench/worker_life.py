"""What a fresh gunicorn worker pays before it serves at full speed, and Python's GC pauses.

    uv run python -m bench.worker_life              # the worker as config/gunicorn.py runs it
    BENCH_GC_FREEZE=0 uv run python -m bench.worker_life    # without gc.freeze() after loading

One process plays a worker from its start: it loads the WSGI app (as gunicorn's
worker does after the fork), serves its first request of each route, then
BENCH_REQUESTS mixed requests (whoami, the bare view, now and then the Tokens tab)
through the WSGI handler, recording every collection of Python's cyclic garbage
collector with its pause. Figures, not pass/fail; SQLite, in a throwaway database.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
import warnings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
warnings.filterwarnings("ignore", message="No directory at")

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "5000"))
FREEZE = os.environ.get("BENCH_GC_FREEZE", "1") == "1"

# Each collection's pause: CPU time of this thread (what the collection costs, whatever the
# machine's load) and wall time (what a request waiting on it sees), in ms.
pauses: dict[int, list[tuple[float, float]]] = {0: [], 1: [], 2: []}
_started: list[tuple[float, float]] = []


def _record(phase: str, info: dict) -> None:
    if phase == "start":
        _started.append((time.thread_time(), time.perf_counter()))
    else:
        cpu, wall = _started.pop()
        pauses[info["generation"]].append(
            ((time.thread_time() - cpu) * 1e3, (time.perf_counter() - wall) * 1e3)
        )


def main() -> None:
    """Load the app as a worker does, serve, print the GC's pauses and the first requests."""
    load = time.process_time()
    import django
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    from config.wsgi import application  # noqa: F401 what gunicorn's worker imports

    django.setup()
    load = time.process_time() - load
    settings.ROOT_URLCONF = "bench.urls"
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        serve(load)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def serve(load: float) -> None:
    """Make the data, serve the requests and print what the collector did."""
    from django.test import Client

    from bench.fixtures import bench_tokens, bench_workspace_with_tokens
    from bench.urls import BARE

    token, _ = bench_tokens()
    workspace, user = bench_workspace_with_tokens(200)
    client = Client()
    client.force_login(user)
    routes = [
        ("bare", BARE, {}),
        ("whoami", "/api/v1/whoami", {"headers": {"Authorization": f"Bearer {token}"}}),
        ("tokens tab", f"/w/{workspace.slug}/settings/tokens/", {}),
    ]
    if FREEZE:  # what config/gunicorn.py's post_worker_init does once the app is loaded
        gc.collect()
        gc.freeze()
    gc.callbacks.append(_record)
    print(f"app loaded in {load * 1e3:,.0f} ms of CPU; gc.freeze() after loading: {FREEZE}")
    for name, path, kwargs in routes:
        first = time.perf_counter()
        assert client.get(path, **kwargs).status_code == 200
        first = (time.perf_counter() - first) * 1e3
        second = time.perf_counter()
        client.get(path, **kwargs)
        second = (time.perf_counter() - second) * 1e3
        print(f"first {name} request: {first:,.1f} ms, second {second:,.1f} ms")
    for n in range(REQUESTS):
        name, path, kwargs = routes[2] if n % 100 == 0 else routes[n % 2]
        client.get(path, **kwargs)
    print(f"after {REQUESTS:,} requests: {len(gc.get_objects()):,} objects tracked by the GC")
    for generation, times in pauses.items():
        if times:
            cpu = [c for c, _ in times]
            print(
                f"generation {generation}: {len(times):,} collections, CPU per pause median "
                f"{statistics.median(cpu):.2f} ms, max {max(cpu):.2f} ms "
                f"(wall max {max(w for _, w in times):.2f} ms)"
            )
    gc.callbacks.remove(_record)
    full = []
    for _ in range(5):
        started = time.thread_time()
        gc.collect()
        full.append((time.thread_time() - started) * 1e3)
    print(f"a full collection now: {statistics.median(full):.2f} ms of CPU (median of 5)")


if __name__ == "__main__":
    main()
