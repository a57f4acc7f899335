"""Start real servers (Redis, gunicorn, nginx, a task worker) for tests and load tests.

Each runs as a child process on a free loopback port, in a temp dir, and is
stopped when its context ends, also when the test fails half-way.
"""

from __future__ import annotations

import contextlib
import copy
import http.client
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 120  # generous: a busy machine loads Django slowly


def free_port() -> int:
    """Return a loopback TCP port that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def accepts_connections(port: int, host: str = "127.0.0.1") -> bool:
    """Return whether something accepts TCP connections on `host:port`."""
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def answers_http(port: int, path: str = "/healthz") -> bool:
    """Return whether an HTTP server on loopback `port` answers a GET (with any status)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        connection.getresponse().read()
    except OSError:
        return False
    finally:
        connection.close()
    return True


def wait_until(ready, *, what: str, process: subprocess.Popen | None = None, log=None) -> None:
    """Poll `ready()` until it is true; fail with the log if the process dies or time runs out."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while not ready():
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become ready in {STARTUP_SECONDS}s:\n{_tail(log)}")
        time.sleep(0.05)  # polling a child process's readiness, not timing a behaviour


def _tail(log: Path | None, lines: int = 40) -> str:
    if log is None or not log.exists():
        return ""
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Server:
    """A child process serving on `port`, with its output in `log`."""

    name: str
    port: int
    process: subprocess.Popen
    log: Path
    env: dict[str, str] = field(default_factory=dict)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        """Stop the process (and its process group), killing it if it does not exit in time."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)

    def output(self) -> str:
        """Return everything the process has written so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start(
    name: str,
    command: Sequence[str],
    *,
    workdir: Path,
    port: int | None = None,
    env: dict[str, str] | None = None,
    ready=None,
) -> Server:
    """Start `command` in its own process group; wait until `port` accepts or `ready()` is true."""
    log = workdir / f"{name}.log"
    full_env = {**os.environ, **(env or {})}
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 commands are built by the tests
            list(command),
            cwd=PROJECT,
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name=name, port=port or 0, process=process, log=log, env=env or {})
    try:
        if ready is None and port is not None:
            wait_until(lambda: accepts_connections(port), what=name, process=process, log=log)
        elif ready is not None:
            wait_until(ready, what=name, process=process, log=log)
    except BaseException:
        server.stop(signal.SIGKILL)
        raise
    return server


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Yield `server` and stop it at the end, whatever happens."""
    try:
        yield server
    finally:
        server.stop()


def redis_binary() -> str | None:
    """Return the path of Debian's redis-server, or None when it is not installed."""
    return shutil.which("redis-server")


def start_redis(workdir: Path, port: int | None = None) -> Server:
    """Start a throwaway redis-server on loopback: no persistence, no protected-mode surprises."""
    binary = redis_binary()
    if binary is None:
        raise RuntimeError("redis-server is not installed (scripts/ensure-services.sh installs it)")
    port = port or free_port()
    command = [
        binary,
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--dir", str(workdir),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
    ]  # fmt: skip
    return start("redis", command, workdir=workdir, port=port)


@contextlib.contextmanager
def database_for_children(workdir: Path) -> Iterator[str]:
    """Yield a DATABASE_URL through which child processes reach the test's database.

    Use it in a transactional test (what the test writes is committed). On
    PostgreSQL it is the test database. SQLite's test database lives in this
    process's memory, out of a child's reach: it is copied (schema and rows)
    to a file in `workdir`, and this process's default connection points at
    that file until the end, so that the test and its children share it.
    """
    from django.db import connections
    from django.db.utils import load_backend

    original = connections["default"]
    if original.vendor != "sqlite":
        url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
        yield url._replace(path="/" + original.settings_dict["NAME"]).geturl()
        return
    path = workdir / "db.sqlite3"
    original.ensure_connection()
    target = sqlite3.connect(path)
    try:
        original.connection.backup(target)
    finally:
        target.close()
    settings_dict = {**copy.deepcopy(original.settings_dict), "NAME": str(path)}
    shared = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, "default")
    connections["default"] = shared
    try:
        yield f"sqlite:///{path}"
    finally:
        shared.close()
        connections["default"] = original


def production_env(database_url: str, mail_dir: Path, **extra: str) -> dict[str, str]:
    """Return the environment of a child process run with production settings, emails to files.

    It shares the test's SECRET_KEY, as a deployment's processes share theirs: links one
    signs, another checks.
    """
    from django.conf import settings

    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "DATABASE_URL": database_url,
        "KEYWARD_TASKS": "database",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        **extra,
    }


def start_worker(workdir: Path, env: dict[str, str], ready) -> Server:
    """Start `manage.py run_worker`, polling often; wait until `ready()` (its heartbeat)."""
    # The venv's python itself: under `uv run`, a SIGTERM to the group would reach the worker
    # twice (uv forwards it), and a second signal makes it drop the task it runs.
    command = [
        sys.executable, "manage.py", "run_worker", "--no-startup-delay", "--interval", "0.1",
    ]  # fmt: skip
    return start("worker", command, workdir=workdir, env=env, ready=ready)


class RedisServer:
    """A redis-server that tests may stop and start again on the same port (same URL)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.server: Server | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.process.poll() is None

    def start(self) -> RedisServer:
        """Start it unless it runs; return it."""
        if not self.running:
            self.server = start_redis(self.workdir, self.port)
        return self

    def stop(self) -> None:
        """Stop it (and wait until it has exited); nothing if it is stopped."""
        if self.server is not None:
            self.server.stop()


def manage(*arguments: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    """Run `manage.py` with `env` added to this process's environment; return what it printed."""
    return subprocess.run(  # noqa: S603 commands are built by the tests
        [sys.executable, "manage.py", *arguments],
        cwd=PROJECT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=check,
        timeout=STARTUP_SECONDS * 5,
    )


def start_gunicorn(workdir: Path, env: dict[str, str], workers: int = 3) -> Server:
    """Start gunicorn with config/gunicorn.py and `workers` workers on a free loopback port.

    `env` is the app's environment (settings); the bind address and worker count are
    added here. The server is ready when a worker has loaded the app and answers.
    """
    port = free_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(workers)}
    command = [sys.executable, "-m", "gunicorn", "-c", str(PROJECT / "config" / "gunicorn.py")]
    server = start("gunicorn", command, workdir=workdir, env=env, ready=lambda: answers_http(port))
    server.port = port
    return server


def children(pid: int) -> set[int]:
    """Return the process ids whose parent is `pid` now (from /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.add(int(stat.parent.name))
    return found


def nginx_binary() -> str | None:
    """Return the path of Debian's nginx, or None when it is not installed."""
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
    )


def render(template: Path, values: dict[str, str]) -> str:
    """Return `template` with each `{{ NAME }}` replaced by `values[NAME]`; refuse leftovers."""
    text = template.read_text()
    for name, value in values.items():
        text = text.replace("{{ " + name + " }}", value)
    if "{{ " in text:
        raise ValueError(f"{template} has placeholders left: {text.split('{{ ', 1)[1][:40]!r}")
    return text


def start_nginx(workdir: Path, site: str) -> Server:
    """Start nginx in the foreground with `site` (server blocks) as its only site, all in `workdir`.

    Everything nginx writes (pid, logs, temp files) stays under `workdir/nginx`.
    The caller's site picks its own ports; readiness is nginx's pid file.
    """
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (scripts/ensure-services.sh installs it)")
    prefix = workdir / "nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    (prefix / "site.conf").write_text(site)
    user = "user root root;" if os.geteuid() == 0 else ""  # workers write temp files here
    (prefix / "nginx.conf").write_text(
        textwrap.dedent(
            f"""\
            {user}
            worker_processes 1;
            error_log {prefix}/logs/error.log info;
            events {{ worker_connections 256; }}
            http {{
                include /etc/nginx/mime.types;
                access_log {prefix}/logs/access.log;
                client_body_temp_path {prefix}/client_body;
                proxy_temp_path {prefix}/proxy;
                fastcgi_temp_path {prefix}/fastcgi;
                uwsgi_temp_path {prefix}/uwsgi;
                scgi_temp_path {prefix}/scgi;
                include {prefix}/site.conf;
            }}
            """
        )
    )
    pid = prefix / "nginx.pid"
    command = [
        binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
        "-e", str(prefix / "logs" / "error.log"),
        "-g", f"daemon off; pid {pid};",
    ]  # fmt: skip
    return start("nginx", command, workdir=workdir, ready=pid.exists)
