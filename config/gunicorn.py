"""gunicorn's settings for Keyward, read from the environment (`gunicorn -c config/gunicorn.py`).

Defaults suit one machine behind nginx (deploy/nginx/keyward.conf); every value
can be changed with an environment variable (README, Configuration).

- Workers: one per core by default; on 2 cores 2 sync workers measured better than
  4 (docs/scaling.md). `GUNICORN_WORKER_CLASS=gthread` with `GUNICORN_THREADS` is
  the knob for thread workers when a measurement says they win.
- Graceful restarts: `kill -HUP <master>` starts new workers with the new code; the
  old ones go on serving until the new ones have loaded the app (config.handover),
  then finish their requests and exit (both up to `graceful_timeout`). The app is
  not preloaded in the master, so a HUP does load new code.
- Worker life: a worker is replaced only after about 500,000 requests, and once it
  has loaded the app it freezes what loading made (`gc.freeze()`), so Python's
  full garbage collections no longer scan the app's ~130,000 long-lived objects:
  a full collection went from hundreds of milliseconds to under one, and with the
  old 10,000 requests a worker under load was replaced every ~15 s, each time
  spending ~2 s of CPU loading the app (docs/scaling.md, Tail latency).
- Access log: off by default. The app writes one JSON line per request itself
  (request id, route name, status, duration, workspace, token id), which
  gunicorn's access log cannot know; a second, poorer line per request would only
  double the volume. `GUNICORN_ACCESS_LOG` (a path or `-`) turns gunicorn's on,
  as JSON lines too.
"""

from __future__ import annotations

import gc
import multiprocessing
import os

wsgi_app = "config.wsgi:application"
proc_name = "keyward"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS") or multiprocessing.cpu_count())
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
# A request running longer than this is killed (nginx waits a little longer: it answers 504).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On HUP old workers serve until the new ones are ready, then finish their requests: each
# step at most this long. On TERM, only the second.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then so a slow leak never grows without bound, but rarely: a new
# worker costs ~2 s of CPU (loading the app) and slow first requests. 500,000 requests of
# ~0.5 ms of CPU each make that under 1 % of a busy worker's CPU.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "500000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "50000"))
# Set to 0 to leave the loaded app to the garbage collector (to measure what gc.freeze() gains).
gc_freeze = os.environ.get("GUNICORN_GC_FREEZE", "1") != "0"
# Only the proxy in front may say which scheme a request came with.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# Workers' heartbeat files in memory: a slow or full disk must not get them killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 gunicorn's advice
# gunicorn 25+ opens a control socket at one path per user: two instances (or a test
# beside a deployment) would fight over it. systemd and signals manage gunicorn instead.
control_socket_disable = True
errorlog = "-"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = (
    '{"time": "%(t)s", "pid": "%(p)s", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
    '"status": "%(s)s", "bytes": "%(B)s", "duration_us": "%(D)s", '
    '"request_id": "%({x-request-id}o)s", "agent": "%(a)s"}'
)


def _metrics_hook(name: str):
    """Return ops.metrics' gunicorn hook `name`, or None when this version has no metrics."""
    try:
        from ops import metrics
    except ImportError:
        return None
    return getattr(metrics, name, None)


def pre_fork(server, worker) -> None:
    """Mark the worker about to be forked as booting (config.handover)."""
    from config import handover

    handover.forking(server, worker)


def post_worker_init(worker) -> None:
    """Freeze the loaded app out of the garbage collector's reach; mark the worker as serving
    (on TERM it waits for younger booting ones: config.handover)."""
    from config import handover

    if gc_freeze:
        # The modules, URLconf and settings live as long as the worker: full collections
        # would scan them all again and again, for nothing. Collect once, then freeze.
        gc.collect()
        gc.freeze()
    handover.ready(worker)


def on_exit(server) -> None:
    """Remove the workers' marks (config.handover)."""
    from config import handover

    handover.stopped(server)


def on_starting(server) -> None:
    """Empty the metrics' multiprocess folder, so a new master does not add an old run's counts."""
    hook = _metrics_hook("gunicorn_on_starting")
    if hook is not None:
        hook(server)


def child_exit(server, worker) -> None:
    """Forget the worker's marks (config.handover); tell the metrics it is gone, so its live
    gauges stop counting (multiprocess mode)."""
    from config import handover

    handover.exited(server, worker)
    hook = _metrics_hook("gunicorn_child_exit")
    if hook is not None:
        hook(server, worker)
