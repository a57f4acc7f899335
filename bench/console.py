"""Benchmark the Tokens tab with 10,000 tokens, and its rename and revoke HTMX requests."""

from __future__ import annotations

from django.db import connection
from django.test import Client

from bench.fixtures import bench_workspace_with_tokens
from bench.measure import QueryCounter, header, p50_p99, row, timings

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
    row("SQL queries for that page", f"{page_queries.queries}")
    row("HTMX search (q=token-9, all statuses): p50 / p99 (ms)", p50_p99(search, "ms"))
    row("HTMX rename POST: p50 / p99 (ms)", p50_p99(renames, "ms"))
    row("HTMX revoke POST: p50 / p99 (ms)", p50_p99(revokes, "ms"))
