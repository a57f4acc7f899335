"""Compare the Tokens tab's CPU per page of two or more source trees, in lockstep.

    uv run python -m bench.side_by_side /tmp/before .
    SIDE_ROUNDS=40 SIDE_BATCH=5 uv run python -m bench.side_by_side /tmp/before /tmp/after .

On a shared machine, runs one after the other do not compare: the neighbours' load
changes between them. Here each tree runs in a process of its own (its code, its
throwaway SQLite database: 10,000 tokens in one workspace, none in another), and the
driver asks each in turn for a small batch of requests, round after round, so that all
of them see the same load. Each batch times, in CPU time of the process, requests for
a page of 25 rows and for the frame (the same tab of the workspace without tokens).

Unlike `python -m bench`, the workers do not install Django's test instrumentation
(setup_test_environment records every rendered template and its context), so the
figures are closer to what a worker spends. Prints min / median per tree.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROUNDS = int(os.environ.get("SIDE_ROUNDS", "30"))
BATCH = int(os.environ.get("SIDE_BATCH", "5"))
TOKENS = int(os.environ.get("SIDE_TOKENS", "10000"))


def worker() -> None:
    """Serve batches of timed requests for the tree in the current directory."""
    sys.path[0] = os.getcwd()  # the tree's code, not this file's folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings_test")
    import warnings

    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from bench.__main__ import log_to_devnull
    from bench.fixtures import bench_workspace, bench_workspace_with_tokens
    from bench.measure import QueryCounter

    settings.ROOT_URLCONF = "bench.urls"
    settings.ALLOWED_HOSTS = ["testserver"]
    log_to_devnull()
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    pages = []
    for workspace, user in (
        bench_workspace_with_tokens(TOKENS),
        (lambda w, m: (w, m.user))(*bench_workspace("empty")),
    ):
        client = Client()
        client.force_login(user)
        pages.append((client, f"/w/{workspace.slug}/settings/tokens/"))
    queries = []
    for client, url in pages:
        for _ in range(10):
            assert client.get(url).status_code == 200
        with QueryCounter() as counted:
            client.get(url)
        queries.append(counted.queries)
    print(json.dumps({"ready": True, "queries": queries}), flush=True)
    for line in sys.stdin:
        times = [[], []]
        for _ in range(int(line)):
            for index, (client, url) in enumerate(pages):
                start = time.process_time()
                client.get(url)
                times[index].append(time.process_time() - start)
        print(json.dumps(times), flush=True)


def main(trees: list[str]) -> None:
    """Run a worker per tree, ask them in turn for ROUNDS batches, print min / median."""
    here = Path(__file__).resolve()
    workers = [
        subprocess.Popen(  # noqa: S603 this interpreter, this file
            [sys.executable, str(here), "--worker"],
            cwd=tree,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for tree in trees
    ]
    queries = [json.loads(process.stdout.readline())["queries"] for process in workers]
    full = [[] for _ in trees]
    frame = [[] for _ in trees]
    for round_number in range(ROUNDS):
        order = range(len(trees)) if round_number % 2 == 0 else reversed(range(len(trees)))
        for index in order:
            workers[index].stdin.write(f"{BATCH}\n")
            workers[index].stdin.flush()
            page, empty = json.loads(workers[index].stdout.readline())
            full[index] += page
            frame[index] += empty
    for process in workers:
        process.stdin.close()
        process.wait()
    print(
        f"\nTokens tab, CPU per page (ms), {ROUNDS} rounds of {BATCH} requests per tree, "
        f"load {os.getloadavg()[0]:.1f}\n"
    )
    print("| tree | 25 rows: min / median | 0 rows (frame): min / median | queries |")
    print("| --- | --: | --: | --: |")
    for index, tree in enumerate(trees):
        print(
            f"| {tree} | {_min_median(full[index])} | {_min_median(frame[index])} "
            f"| {queries[index][0]} / {queries[index][1]} |"
        )


def _min_median(values: list[float]) -> str:
    return f"{min(values) * 1e3:.1f} / {statistics.median(values) * 1e3:.1f}"


if __name__ == "__main__":
    if sys.argv[1:] == ["--worker"]:
        worker()
    else:
        main(sys.argv[1:] or ["."])
