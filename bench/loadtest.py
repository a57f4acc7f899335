"""`make loadtest`: Keyward under gunicorn, PostgreSQL and Redis, driven by wrk.

    scripts/with-postgres.sh uv run python -m bench.loadtest [--rounds 3] [--duration 5]
        [--concurrency 1,8,32] [--configs sync:2,gthread:2x4] [--routes bare,whoami,...]

A configuration may end with environment variables for its gunicorn, e.g.
`default+GUNICORN_MAX_REQUESTS=10000+GUNICORN_GC_FREEZE=0` next to `default`.

Every gunicorn configuration named by --configs runs at once on its own port;
rounds interleave every route and configuration, so that the noise of a shared
machine hits them alike, and each route is reported as a ratio to the bare
Django view measured in the same round. Figures, never pass/fail.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.servers import PROJECT, Server, free_port, start, start_redis

TOKENS_IN_TAB = 10_000
LUA_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %f %f\\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass
class Route:
    name: str
    path: str
    method: str = "GET"
    headers: dict[str, str] | None = None
    body: str = ""

    def lua(self) -> str:
        """Return the wrk script sending this request and printing one RESULT line."""
        lines = [f'wrk.method = "{self.method}"']
        if self.body:
            lines.append(f'wrk.body = "{self.body}"')
        for name, value in (self.headers or {}).items():
            lines.append(f'wrk.headers["{name}"] = "{value}"')
        return "\n".join(lines) + LUA_DONE


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int

    def __str__(self) -> str:
        return (
            f"{self.rps:,.0f} req/s, p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms, "
            f"{self.errors} errors"
        )


def environment() -> dict[str, str]:
    """Return the environment of every process: production settings on the bench URLconf."""
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Run it on PostgreSQL: scripts/with-postgres.sh uv run python -m bench.loadtest")
    return {
        "DJANGO_SETTINGS_MODULE": "bench.settings_loadtest",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "KEYWARD_HTTPS": "0",
        "LOG_LEVEL": "WARNING",
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",  # tokens' emails
    }


def prepare(env: dict[str, str]) -> list[Route]:
    """Migrate, collect static files, create the data and return the routes to load."""
    for command in (["migrate", "--noinput"], ["collectstatic", "--noinput", "-v0"]):
        subprocess.run(  # noqa: S603 our own manage.py
            [sys.executable, "manage.py", *command],
            cwd=PROJECT,
            env={**os.environ, **env},
            check=True,
            stdout=subprocess.DEVNULL,
        )
    os.environ.update(env)
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from bench.fixtures import bench_tokens, bench_workspace_with_tokens
    from bench.gateway import CHECK, bench_gateway_tokens, nginx_headers
    from bench.urls import BARE, BARE_QUERY

    token, introspector = bench_tokens()
    service_reader, _ = bench_gateway_tokens()
    workspace, user = bench_workspace_with_tokens(TOKENS_IN_TAB)
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    print_storage()
    print_lookup_cost(token)
    return [
        Route("bare", BARE),
        Route("bare+query", BARE_QUERY),
        Route("whoami", "/api/v1/whoami", headers={"Authorization": f"Bearer {token}"}),
        Route(
            "introspect",
            "/api/v1/introspect",
            method="POST",
            body=f"token={token}",
            headers={
                "Authorization": f"Bearer {introspector}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        ),
        Route("gateway check", CHECK, headers=nginx_headers(service_reader)),
        Route(
            "tokens tab",
            f"/w/{workspace.slug}/settings/tokens/",
            headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"},
        ),
    ]


def print_storage() -> None:
    """Print what PostgreSQL stores per token (table, TOAST and indexes), as the data grows."""
    from django.db import connection

    from tokens.models import Token

    table = Token._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE " + table)
        cursor.execute(
            "SELECT count(*), pg_table_size(%s), pg_indexes_size(%s) FROM " + table,  # noqa: S608
            [table, table],
        )
        count, data, indexes = cursor.fetchone()
    print(
        f"{count:,} tokens in {table}: {data / count:,.0f} bytes of table and "
        f"{indexes / count:,.0f} bytes of indexes per token"
    )


def print_lookup_cost(token: str, runs: int = 3000) -> None:
    """Print what the token lookup costs PostgreSQL: wall time per query minus client CPU."""
    import time

    from tokens import secrets as token_secrets
    from tokens.auth import _lookup_row

    digest = token_secrets.digest(token)
    for _ in range(100):
        _lookup_row(digest)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        _lookup_row(digest)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"token lookup, {runs:,} in a row on one connection: {wall / runs * 1e6:,.0f} µs each, "
        f"{cpu / runs * 1e6:,.0f} µs of it in the client (the rest: server and loopback)"
    )


def start_gunicorn(config: str, workdir: Path, env: dict[str, str]) -> Server:
    """Start gunicorn with config/gunicorn.py as `config` says: `default` (its own settings),
    sync:N or gthread:NxT, each optionally followed by +NAME=value environment variables."""
    shape, *overrides = config.split("+")
    port = free_port()
    settings = {"GUNICORN_BIND": f"127.0.0.1:{port}"}
    if shape != "default":
        worker_class, _, size = shape.partition(":")
        workers, _, threads = size.partition("x")
        settings |= {
            "GUNICORN_WORKER_CLASS": worker_class,
            "GUNICORN_WORKERS": workers,
            "GUNICORN_THREADS": threads or "1",
            "GUNICORN_MAX_REQUESTS": "0",  # a recycled worker mid-run would be measured too
        }
    settings |= dict(override.split("=", 1) for override in overrides)
    command = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py"]
    name = "gunicorn-" + "".join(c if c.isalnum() else "-" for c in config)
    return start(name, command, workdir=workdir, port=port, env={**env, **settings})


def workers_booted(server: Server) -> int:
    """Return how many workers the gunicorn `server` has booted so far (its log says each)."""
    return server.output().count("Booting worker with pid")


def check(port: int, route: Route) -> None:
    """Send the route's request once; stop the load test unless it answers 200."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{route.path}",
        data=route.body.encode() if route.body else None,
        headers=route.headers or {},
        method=route.method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        if response.status != 200:
            sys.exit(f"{route.name} answered {response.status}")


def wrk(port: int, route: Route, script: Path, connections: int, seconds: int) -> Result:
    """Run wrk against `route` and return its figures."""
    out = subprocess.run(  # noqa: S603 wrk from Debian, on PATH
        [  # noqa: S607
            "wrk",
            f"-t{min(connections, 2)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{route.path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT "))
    requests, duration_us, socket_errors, status_errors, p50, p99 = line.split()[1:]
    return Result(
        rps=int(requests) / (int(duration_us) / 1e6),
        p50_ms=float(p50) / 1e3,
        p99_ms=float(p99) / 1e3,
        errors=int(socket_errors) + int(status_errors),
    )


def warm_up(port: int, route: Route, script: Path, connections: int) -> None:
    """Load `route` for a second at `connections` and forget the figures.

    The first measured run after start-up (the bare view at c=1) had a p99 60-150 x its
    p50 in the last two load tests, and no later run did: a round should measure a
    service that has been running, not its first seconds.
    """
    wrk(port, route, script, connections, 1)


def worker_rss_mb(master: int) -> list[float]:
    """Return the resident memory of each worker process of the gunicorn `master`, in MB."""
    sizes = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) != master:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError, ValueError):
            continue
        kb = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
        sizes.append(int(kb) / 1024)
    return sorted(sizes)


def main() -> None:
    """Start the stack, run the interleaved rounds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument(
        "--configs",
        default=os.environ.get("LOADTEST_CONFIGS", "default"),
        help="gunicorn configurations: sync:N, gthread:NxT; default = config/gunicorn.py's",
    )
    parser.add_argument(
        "--routes", default="bare,bare+query,whoami,introspect,gateway check,tokens tab"
    )
    args = parser.parse_args()
    concurrency = [int(c) for c in args.concurrency.split(",")]
    wanted = args.routes.split(",")

    env = environment()
    with tempfile.TemporaryDirectory(prefix="keyward-loadtest-") as folder:
        workdir = Path(folder)
        routes = [route for route in prepare(env) if route.name in wanted]
        if routes[0].name != "bare":
            sys.exit("--routes must include bare: every figure is a ratio to it")
        scripts = {}
        for route in routes:
            scripts[route.name] = workdir / f"{route.name.replace(' ', '-')}.lua"
            scripts[route.name].write_text(route.lua())
        servers: dict[str, Server] = {}
        redis = start_redis(workdir)
        env["REDIS_URL"] = f"redis://127.0.0.1:{redis.port}/0"
        try:
            for config in args.configs.split(","):
                servers[config] = start_gunicorn(config, workdir, env)
            for server in servers.values():
                for route in routes:
                    for _ in range(5):  # every worker imports and connects before measuring
                        check(server.port, route)
            for server in servers.values():
                for connections in concurrency:
                    for route in routes:  # a first run of its own, not counted: see warm_up
                        warm_up(server.port, route, scripts[route.name], connections)
            booted = {config: workers_booted(server) for config, server in servers.items()}
            results: dict[tuple, list[Result]] = {}
            for _ in range(args.rounds):
                for connections in concurrency:
                    for config, server in servers.items():
                        for route in routes:
                            # Requests a slow route left queued would count against the next.
                            check(server.port, routes[0])
                            result = wrk(
                                server.port,
                                route,
                                scripts[route.name],
                                connections,
                                args.duration,
                            )
                            results.setdefault((config, connections, route.name), []).append(result)
                            print(f"  {config} c={connections} {route.name}: {result}", flush=True)
            memory = {config: worker_rss_mb(s.process.pid) for config, s in servers.items()}
            for config, server in servers.items():
                # Each new worker loads the app (seconds of CPU) while the others serve.
                booted[config] = workers_booted(server) - booted[config]
        finally:
            for server in servers.values():
                server.stop()
            redis.stop()
    report(results, memory, booted, routes, concurrency, list(servers), args)


def report(results, memory, booted, routes, concurrency, configs, args) -> None:
    """Print the medians over rounds, and each route's req/s as a ratio to the bare view's."""
    print(
        f"\nLoad test: gunicorn ({', '.join(configs)}), PostgreSQL, Redis, wrk; "
        f"{args.rounds} interleaved rounds of {args.duration}s per route; medians over rounds\n"
    )
    print(
        "| config | c | route | req/s | x bare | x bare+query | p50 ms | p99 ms | p99/p50 "
        "| errors |\n| --- | --: | --- | --: | --: | --: | --: | --: | --: | --: |"
    )
    for config in configs:
        for connections in concurrency:
            for route in routes:
                runs = results[(config, connections, route.name)]
                bare = ratio(runs, results[(config, connections, "bare")])
                floor = ratio(runs, results.get((config, connections, "bare+query")))
                p50 = statistics.median(run.p50_ms for run in runs)
                p99 = statistics.median(run.p99_ms for run in runs)
                spread = p99 / p50 if p50 else float("inf")
                print(
                    f"| {config} | {connections} | {route.name} "
                    f"| {statistics.median(run.rps for run in runs):,.0f} "
                    f"| {bare} | {floor} | {p50:.2f} | {p99:.2f} "
                    f"| {spread:.1f} | {sum(run.errors for run in runs)} |"
                )
    for config, sizes in memory.items():
        shown = ", ".join(f"{size:.0f}" for size in sizes)
        print(f"\nRSS per worker, {config}, after the runs (MB): {shown}")
        print(f"Workers replaced during the runs, {config}: {booted[config]}")


def ratio(runs: list[Result], bases: list[Result] | None) -> str:
    """Return the median over rounds of runs' req/s over the same round's base, or a dash."""
    if not bases:
        return "-"
    ratios = [run.rps / base.rps for run, base in zip(runs, bases, strict=True) if base.rps]
    return f"{statistics.median(ratios):.2f}" if ratios else "-"


if __name__ == "__main__":
    main()
