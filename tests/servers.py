"""Start real servers (Redis, gunicorn, nginx, a task worker) for tests and load tests.

Each runs as a child process on a free loopback port, in a temp dir, and is
stopped when its context ends, also when the test fails half-way.
"""

from __future__ import annotations

import contextlib
import copy
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 60


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
