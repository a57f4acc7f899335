"""Benchmark the gateway check against the bare view: the hottest path Keyward has."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from contextlib import contextmanager

from django.db import connection
from django.test import Client

from bench.fixtures import bench_workspace
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
from bench.urls import BARE, BARE_DRIVER, BARE_QUERY
from tokens import services
from tokens.actors import Actor

CHECK = "/gateway/check"
WHOAMI = "/api/v1/whoami"
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


# The routes whose CPU time is compared with the bare view's and with the one-query floor's.
COMPARED = {
    "bare+query": "bare + SELECT 1 (the one-query floor)",
    "bare+driver": "bare + SELECT 1 on a kept driver cursor",
    "check": "gateway check, usage counted (goal <= 1.30 x bare)",
    "uncounted": "gateway check, usage not counted",
    "whoami": "GET /api/v1/whoami (goal <= 1.30 x bare)",
}


def run(requests: int) -> None:
    """Print the gateway benchmark table."""
    reader, other = bench_gateway_tokens()
    client = Client()
    routes = {
        "bare": (BARE, {}),
        "bare+query": (BARE_QUERY, {}),
        "bare+driver": (BARE_DRIVER, {}),
        "check": (CHECK, _nginx(reader)),
        "uncounted": (CHECK, _nginx(reader)),
        "whoami": (WHOAMI, {"headers": {"Authorization": f"Bearer {reader}"}}),
    }
    ok = (200, 401, 403)
    for path, kwargs in routes.values():  # warm imports, URL resolver, compiled rules
        timings(client, path, 300, ok=ok, **kwargs)

    times: dict[str, list[float]] = {name: [] for name in routes}
    cpu_medians: dict[str, list[float]] = {name: [] for name in routes}
    over_bare: dict[str, list[float]] = {name: [] for name in COMPARED}
    over_floor: dict[str, list[float]] = {name: [] for name in COMPARED if name != "bare+query"}
    over_driver: dict[str, list[float]] = {name: [] for name in COMPARED if name[:4] != "bare"}
    for _ in range(ROUNDS):
        medians = round_medians(client, routes, requests // ROUNDS // 2, times, counting, ok=ok)
        for name, median in medians.items():
            cpu_medians[name].append(median)
        for name in over_bare:
            over_bare[name].append(medians[name] / medians["bare"])
        for name in over_floor:
            over_floor[name].append(medians[name] / medians["bare+query"])
        for name in over_driver:
            over_driver[name].append(medians[name] / medians["bare+driver"])

    with QueryCounter() as allowed:
        timings(client, CHECK, 1000, ok=ok, **_nginx(reader))
    with QueryCounter() as refused:
        refused_times = timings(client, CHECK, 200, ok=ok, **_nginx(other))
    with QueryCounter() as writes:
        write_times = timings(client, CHECK, 200, ok=ok, **_nginx(reader, "POST"))

    header(
        f"Gateway check on {connection.vendor}: {len(times['bare']):,} requests per route in "
        f"{ROUNDS} interleaved rounds, Django test client, one process, the same MIDDLEWARE "
        f"setting (the check is answered by GatewayCheckMiddleware, third in it), "
        f"{SERVICE_RULES + 2} rules in the workspace"
    )
    route_rows(
        times,
        (
            ("bare", f"GET {BARE} (bare Django JSON view)"),
            ("bare+query", f"GET {BARE_QUERY} (the bare view plus one SELECT 1)"),
            ("check", f"GET {CHECK}, nginx headers, allowed (usage counted)"),
            ("uncounted", f"GET {CHECK}, the same, usage not counted"),
            ("whoami", f"GET {WHOAMI}, the same token"),
        ),
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
    hot_paths(cpu_medians, over_bare, over_floor, over_driver)


def hot_paths(cpu_medians, over_bare, over_floor, over_driver) -> None:
    """Print each hot path's CPU time against the bare view's and the one-query floors'.

    The floor is the bare view plus one `SELECT 1`: every authenticated request
    asks the database once (revocation is seen at once), so no route that
    authenticates can cost less than it; the gap above it is Keyward's own work.
    Through Django's cursor (bare+query), or as the token lookup runs its query:
    on a driver cursor kept open, without Django's layers (bare+driver).
    """
    header(
        f"Hot paths on {connection.vendor}: CPU time per request (this process, "
        f"time.thread_time), median of the {ROUNDS} rounds' medians (lowest-highest round)"
    )
    row(
        "bare Django JSON view: CPU µs per request",
        f"{statistics.median(cpu_medians['bare']) * 1e6:,.0f}",
    )
    for name, label in COMPARED.items():
        row(f"{label}: CPU µs", f"{statistics.median(cpu_medians[name]) * 1e6:,.0f}")
        row("  x bare", spread(over_bare[name]))
        if name in over_floor:
            row("  x bare+query (floor)", spread(over_floor[name]))
        if name in over_driver:
            row("  x bare+driver (the lookup's floor)", spread(over_driver[name]))


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
