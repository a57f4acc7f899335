"""Benchmark the Tokens tab with 10,000 tokens, and its rename and revoke HTMX requests."""

from __future__ import annotations

import statistics
import time

from django.db import connection
from django.test import Client

from bench.fixtures import bench_workspace, bench_workspace_with_tokens
from bench.measure import QueryCounter, header, p50_p99, row, timings

ROUNDS = 10

HTMX = {"HX-Request": "true"}


def run(token_count: int, samples: int) -> None:
    """Print the console benchmark table."""
    from tokens.models import Token

    workspace, user = bench_workspace_with_tokens(token_count)
    client = Client()
    client.force_login(user)
    base = f"/w/{workspace.slug}/settings/tokens/"

    timings(client, base, 5)
    with QueryCounter() as page_queries:
        client.get(base)
    full_cpu, frame_cpu = cpu_per_page(client, base, samples)
    page = timings(client, base, samples)
    search = timings(client, f"{base}?q=token-9&status=all", samples, headers=HTMX)

    targets = list(
        Token.objects.filter(workspace=workspace).values_list("public_id", flat=True)[: samples * 2]
    )
    renames, revokes = [], []
    for i, public_id in enumerate(targets[:samples]):
        renames += timings(
            client,
            f"{base}{public_id}/rename/",
            1,
            method="post",
            ok=(200,),
            data={"name": f"renamed-{i}", "description": "bench"},
            headers=HTMX,
        )
    for public_id in targets[samples:]:
        revokes += timings(
            client, f"{base}{public_id}/revoke/", 1, method="post", ok=(200,), headers=HTMX
        )

    header(
        f"Tokens tab on {connection.vendor}: {token_count:,} tokens in the workspace, "
        f"{samples} samples each, server time through the test client"
    )
    row("GET Settings → Tokens, full page: p50 / p99 (ms)", p50_p99(page, "ms"))
    row("  CPU per page of 25 rows: min / median (ms)", min_median(full_cpu))
    row("  CPU per page of 0 rows (the frame): min / median (ms)", min_median(frame_cpu))
    row(
        "  CPU of the rows, their 2 queries, the count (median diff ms)",
        f"{(statistics.median(full_cpu) - statistics.median(frame_cpu)) * 1e3:.1f}",
    )
    row("SQL queries for that page", f"{page_queries.queries}")
    row("HTMX search (q=token-9, all statuses): p50 / p99 (ms)", p50_p99(search, "ms"))
    row("HTMX rename POST: p50 / p99 (ms)", p50_p99(renames, "ms"))
    row("HTMX revoke POST: p50 / p99 (ms)", p50_p99(revokes, "ms"))


def cpu_per_page(client: Client, base: str, samples: int) -> tuple[list[float], list[float]]:
    """Return the CPU seconds of each request for a page of 25 tokens and for the same tab
    in a workspace without tokens (the page's frame), in interleaved rounds.

    CPU time (time.process_time), not wall time: this machine is shared, and SQLite's work
    is in this process, so a query's execution counts.
    """
    workspace, membership = bench_workspace("empty")
    empty = Client()
    empty.force_login(membership.user)
    empty_base = f"/w/{workspace.slug}/settings/tokens/"
    timings(empty, empty_base, 5)
    full, frame = [], []
    for _ in range(ROUNDS):
        full += timings(client, base, max(samples // ROUNDS, 1), clock=time.process_time)
        frame += timings(empty, empty_base, max(samples // ROUNDS, 1), clock=time.process_time)
    return full, frame


def min_median(values: list[float]) -> str:
    """Return "min / median" of `values` in ms."""
    return f"{min(values) * 1e3:.1f} / {statistics.median(values) * 1e3:.1f}"
