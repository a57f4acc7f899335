"""Benchmark the gateway check against the bare view: the hottest path Keyward has."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from contextlib import contextmanager

from django.db import connection
from django.test import Client

from bench.fixtures import bench_workspace
from bench.measure import QueryCounter, header, p50_p99, row, timings
from bench.urls import BARE, BARE_QUERY
from tokens import services
from tokens.actors import Actor

CHECK = "/gateway/check"
ROUNDS = 50
SERVICE_RULES = 20  # rules in the workspace besides the one the requests match


def bench_gateway_tokens() -> tuple[str, str]:
    """Return the secrets of a token that may read the bench service, and of one that may not."""
    from gateway import services as gateway_services
    from tokens.services.resources import resource_create

    workspace, membership = bench_workspace("gateway")
    actor = Actor.member(membership)
    for i in range(SERVICE_RULES):
        other = resource_create(actor=actor, workspace=workspace, name=f"other-{i}")
        gateway_services.service_create(
            actor=actor, resource=other, rules=[(f"svc{i}.example.com", f"/v{i}")]
        )
    inventory = resource_create(actor=actor, workspace=workspace, name="Inventory")
    gateway_services.service_create(
        actor=actor,
        resource=inventory,
        slug="inventory",
        rules=[("api.example.com", "/inventory"), ("*.inventory.example.com", "/")],
    )
    return tuple(
        services.token_create(actor=actor, workspace=workspace, name=name, scopes=scopes)[1]
        for name, scopes in (("reader", ["inventory:read"]), ("other", ["workspace:read"]))
    )


def nginx_headers(token: str, method: str = "GET") -> dict[str, str]:
    """Return the headers nginx's auth_request sends for a request to the bench service."""
    return {
        "Authorization": f"Bearer {token}",
        "X-Original-Method": method,
        "X-Original-URI": "/inventory/items/42?fields=name",
        "X-Original-Host": "api.example.com",
    }


def _nginx(token: str, method: str = "GET") -> dict:
    return {"headers": nginx_headers(token, method)}


@contextmanager
def counting(enabled: bool):
    """Count usage in the check (as deployed), or not, to show what counting costs."""
    from gateway import usage

    if enabled:
        yield
        return
    record = usage.record_decision
    usage.record_decision = lambda *args, **kwargs: None
    try:
        yield
    finally:
        usage.record_decision = record


def run(requests: int) -> None:
    """Print the gateway benchmark table."""
    reader, other = bench_gateway_tokens()
    client = Client()
    routes = {
        "bare": (BARE, {}),
        "bare+query": (BARE_QUERY, {}),
        "check": (CHECK, _nginx(reader)),
        "uncounted": (CHECK, _nginx(reader)),
    }
    ok = (200, 401, 403)
    for path, kwargs in routes.values():  # warm imports, URL resolver, compiled rules
        timings(client, path, 300, ok=ok, **kwargs)

    times: dict[str, list[float]] = {name: [] for name in routes}
    ratios: dict[str, list[float]] = {"bare+query": [], "check": [], "uncounted": []}
    over_query: list[float] = []
    for _ in range(ROUNDS):
        medians = {}
        for name, (path, kwargs) in routes.items():
            with counting(name != "uncounted"):
                times[name] += timings(client, path, requests // ROUNDS // 2, ok=ok, **kwargs)
                cpu = timings(
                    client, path, requests // ROUNDS // 2, ok=ok, clock=time.thread_time, **kwargs
                )
            medians[name] = statistics.median(cpu)
        for name in ratios:
            ratios[name].append(medians[name] / medians["bare"])
        over_query.append(medians["check"] / medians["bare+query"])

    with QueryCounter() as allowed:
        timings(client, CHECK, 1000, ok=ok, **_nginx(reader))
    with QueryCounter() as refused:
        refused_times = timings(client, CHECK, 200, ok=ok, **_nginx(other))
    with QueryCounter() as writes:
        write_times = timings(client, CHECK, 200, ok=ok, **_nginx(reader, "POST"))

    header(
        f"Gateway check on {connection.vendor}: {len(times['bare']):,} requests per route in "
        f"{ROUNDS} interleaved rounds, Django test client, one process, the same MIDDLEWARE "
        f"setting (the check is answered by GatewayCheckMiddleware, second in it), "
        f"{SERVICE_RULES + 2} rules in the workspace"
    )
    for name, label in (
        ("bare", f"GET {BARE} (bare Django JSON view)"),
        ("bare+query", f"GET {BARE_QUERY} (the bare view plus one SELECT 1)"),
        ("check", f"GET {CHECK}, nginx headers, allowed (usage counted)"),
        ("uncounted", f"GET {CHECK}, the same, usage not counted"),
    ):
        row(f"{label}: req/s", f"{len(times[name]) / sum(times[name]):,.0f}")
        row("  p50 / p99 wall time (µs)", p50_p99(times[name]))
    for name, target in (
        ("bare+query", ""),
        ("check", " (goal <= 1.30)"),
        ("uncounted", " (no usage counting)"),
    ):
        per_round = ratios[name]
        row(
            f"{name} / bare, CPU time, median of rounds{target}",
            f"{statistics.median(per_round):.2f} ({min(per_round):.2f}-{max(per_round):.2f})",
        )
    row(
        "check / bare+query, CPU time, median of rounds",
        f"{statistics.median(over_query):.2f} ({min(over_query):.2f}-{max(over_query):.2f})",
    )
    row("SQL queries per allowed check (1,000 requests)", f"{allowed.queries / 1000:.4f}")
    row(
        "refused (no scope for the service): p50 (µs) / queries",
        f"{p50_p99(refused_times).split(' / ')[0]} / {refused.queries / 200:g}",
    )
    row(
        "refused (POST needs write): p50 (µs) / queries",
        f"{p50_p99(write_times).split(' / ')[0]} / {writes.queries / 200:g}",
    )
    flush_throughput()


def flush_throughput(minutes: int = 500) -> None:
    """Print how fast gateway.rollups writes counted uses into the usage tables."""
    from gateway import rollups, usage
    from gateway.usage_models import UsageClient, UsageCount
    from tokens.models import Token

    bench_tokens = Token.objects.filter(workspace__slug="gateway")
    tokens = list(bench_tokens.values_list("public_id", flat=True))
    start = usage.minute_of(time.time()) - minutes
    tallies = {}
    for minute in range(start, start + minutes):
        tally = Counter()
        for token_id in tokens:
            for outcome in ("allowed", "scope", "invalid"):
                tally[usage.field(token_id, "o", outcome, "Bench")] += 7
            tally[usage.field(token_id, "ip", f"192.0.2.{minute % 50}")] += 21
            tally[usage.field(token_id, "ua", "bench/1.0")] += 21
        tallies[minute] = tally
    began = time.perf_counter()
    result = rollups.write(tallies)
    elapsed = time.perf_counter() - began
    UsageCount.objects.filter(token__public_id__in=tokens).delete()
    UsageClient.objects.filter(token__public_id__in=tokens).delete()
    row(
        f"flush: {minutes} minutes x {len(tokens)} tokens into {result.rows:,} rows: rows/s",
        f"{result.rows / elapsed:,.0f}",
    )
