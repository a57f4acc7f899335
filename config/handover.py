"""Hand over from old gunicorn workers to new ones on a reload (HUP) only once the new ones serve.

On HUP gunicorn forks new workers and at once sends the old ones TERM: they stop
accepting, and until the new workers have loaded the app (seconds, more on a busy
machine) no process takes the connections that arrive. They wait in the listening
socket's queue, and past nginx's proxy_read_timeout they fail with a 504.

So each worker marks its state in a folder of its master's: `<age>.booting` (written
by the master before it forks the worker, so it exists before any old worker is
told to stop) becomes `<age>.ready` once the worker has loaded the app. A worker
told to stop while a younger one is still booting goes on serving until none is
(or until `graceful_timeout`), then stops as gunicorn's own TERM would. When none is
booting (a stop, not a reload) it stops at once. gunicorn's age numbers workers in
the order they were forked, so a younger worker is a newer one.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

POLL_SECONDS = 0.1  # how often a stopping worker looks for booting ones


def marks(cfg, master_pid: int) -> Path:
    """Return the folder where the workers of master `master_pid` mark their state."""
    base = cfg.worker_tmp_dir or tempfile.gettempdir()
    return Path(base) / f"keyward-gunicorn-{master_pid}"


def booting_after(folder: Path, age: int) -> list[int]:
    """Return the ages of the workers younger than `age` that have not loaded the app yet."""
    with contextlib.suppress(FileNotFoundError):
        return sorted(
            int(mark.stem)
            for mark in folder.iterdir()
            if mark.suffix == ".booting" and mark.stem.isdigit() and int(mark.stem) > age
        )
    return []


def forking(server, worker) -> None:
    """Mark `worker` as booting, in the master, before it is forked (gunicorn's pre_fork)."""
    folder = marks(server.cfg, server.pid)
    folder.mkdir(mode=0o700, exist_ok=True)
    (folder / f"{worker.age}.booting").touch()


def ready(worker) -> None:
    """Mark `worker` as serving, and make its TERM wait for younger booting workers
    (gunicorn's post_worker_init: the app is loaded)."""
    folder = marks(worker.cfg, worker.ppid)
    with contextlib.suppress(FileNotFoundError):
        (folder / f"{worker.age}.booting").replace(folder / f"{worker.age}.ready")
    handing_over = threading.Event()

    def hand_over() -> None:
        deadline = time.monotonic() + worker.cfg.graceful_timeout
        while booting_after(folder, worker.age) and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)  # polling sibling processes' marks
        worker.alive = False
        with contextlib.suppress(OSError):
            os.write(worker.PIPE[1], b"1")  # wake the worker's select() to see it

    def on_term(signum, frame) -> None:
        if handing_over.is_set():
            return
        handing_over.set()
        if booting_after(folder, worker.age):
            threading.Thread(target=hand_over, name="handover", daemon=True).start()
        else:
            worker.alive = False

    signal.signal(signal.SIGTERM, on_term)
    signal.siginterrupt(signal.SIGTERM, False)  # signal.signal() made it interrupting again


def exited(server, worker) -> None:
    """Forget the marks of a worker that has exited (gunicorn's child_exit, in the master)."""
    folder = marks(server.cfg, server.pid)
    for state in ("booting", "ready"):
        (folder / f"{worker.age}.{state}").unlink(missing_ok=True)


def stopped(server) -> None:
    """Remove the master's folder of marks (gunicorn's on_exit)."""
    folder = marks(server.cfg, server.pid)
    for mark in folder.glob("*"):
        mark.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        folder.rmdir()
