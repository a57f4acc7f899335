"""config/gunicorn.py: what it makes of the environment, and its hook for the metrics."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import runpy
import signal
import sys
import types

import pytest

import ops
from config import handover
from tests import servers
from tests.servers import PROJECT

SETTINGS = PROJECT / "config" / "gunicorn.py"


def load(monkeypatch, **environ) -> dict:
    """Return the settings config/gunicorn.py makes of `environ` (no other GUNICORN_ variable)."""
    for name in list(os.environ):
        if name.startswith("GUNICORN_"):
            monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS))


def test_defaults_suit_one_machine_behind_nginx(monkeypatch):
    loaded = load(monkeypatch)

    assert loaded["workers"] == multiprocessing.cpu_count()
    assert (loaded["worker_class"], loaded["threads"]) == ("sync", 1)
    assert loaded["bind"] == "127.0.0.1:8000"
    assert loaded["accesslog"] is None  # the app logs each request itself
    assert loaded["control_socket_disable"] is True


def test_workers_are_replaced_rarely(monkeypatch):
    loaded = load(monkeypatch)

    # A new worker costs ~2 s of CPU: every 10,000 requests it was a fifth of a busy worker's.
    assert (loaded["max_requests"], loaded["max_requests_jitter"]) == (500_000, 50_000)
    assert load(monkeypatch, GUNICORN_MAX_REQUESTS="0")["max_requests"] == 0


@pytest.fixture
def unfrozen():
    """Give this process's objects back to the garbage collector after a test froze them."""
    yield
    gc.unfreeze()


def test_a_worker_freezes_the_loaded_app_out_of_the_garbage_collector(
    monkeypatch, tmp_path, unfrozen
):
    loaded = load(monkeypatch)
    server, worker = gunicorn_objects(tmp_path)
    loaded["pre_fork"](server, worker)
    assert gc.get_freeze_count() == 0

    loaded["post_worker_init"](worker)

    assert gc.get_freeze_count() > 10_000  # this process's modules, now out of every collection
    loaded["child_exit"](server, worker)
    loaded["on_exit"](server)


def test_gc_freeze_can_be_turned_off(monkeypatch, tmp_path, unfrozen):
    loaded = load(monkeypatch, GUNICORN_GC_FREEZE="0")
    server, worker = gunicorn_objects(tmp_path)
    loaded["pre_fork"](server, worker)

    loaded["post_worker_init"](worker)

    assert gc.get_freeze_count() == 0
    loaded["child_exit"](server, worker)
    loaded["on_exit"](server)


def test_every_knob_comes_from_the_environment(monkeypatch):
    loaded = load(
        monkeypatch,
        GUNICORN_WORKERS="3",
        GUNICORN_WORKER_CLASS="gthread",
        GUNICORN_THREADS="4",
        GUNICORN_TIMEOUT="20",
        GUNICORN_GRACEFUL_TIMEOUT="25",
        GUNICORN_FORWARDED_ALLOW_IPS="10.0.0.5",
        GUNICORN_ACCESS_LOG="-",
    )

    assert (loaded["workers"], loaded["worker_class"], loaded["threads"]) == (3, "gthread", 4)
    assert (loaded["timeout"], loaded["graceful_timeout"]) == (20, 25)
    assert loaded["forwarded_allow_ips"] == "10.0.0.5"
    assert loaded["accesslog"] == "-"


def test_the_access_log_format_is_a_json_object_once_filled_in(monkeypatch):
    template = load(monkeypatch)["access_log_format"]
    filled = template.replace("%({x-request-id}o)s", "abc").replace("%(", "").replace(")s", "")

    assert set(json.loads(filled)) >= {"time", "pid", "method", "path", "status", "duration_us"}


def gunicorn_objects(tmp_path) -> tuple[types.SimpleNamespace, types.SimpleNamespace]:
    """Return a master and one of its workers, as far as the hooks look at them."""
    cfg = types.SimpleNamespace(worker_tmp_dir=str(tmp_path), graceful_timeout=30)
    server = types.SimpleNamespace(cfg=cfg, pid=4242)
    return server, types.SimpleNamespace(cfg=cfg, ppid=server.pid, age=1)


def test_the_metrics_hear_of_a_starting_master_and_an_exiting_worker(monkeypatch, tmp_path):
    told = []
    metrics = types.ModuleType("ops.metrics")
    metrics.gunicorn_on_starting = lambda server: told.append(("starting", server))
    metrics.gunicorn_child_exit = lambda server, worker: told.append(("exit", worker))
    monkeypatch.setitem(sys.modules, "ops.metrics", metrics)
    monkeypatch.setattr(ops, "metrics", metrics, raising=False)
    loaded = load(monkeypatch)
    server, worker = gunicorn_objects(tmp_path)

    loaded["on_starting"](server)
    loaded["child_exit"](server, worker)

    assert told == [("starting", server), ("exit", worker)]


def test_without_the_metrics_module_the_hooks_do_nothing(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ops.metrics", None)  # import fails
    monkeypatch.delattr(ops, "metrics", raising=False)
    loaded = load(monkeypatch)
    server, worker = gunicorn_objects(tmp_path)

    assert loaded["on_starting"](server) is None
    assert loaded["child_exit"](server, worker) is None


@pytest.fixture
def term_handler():
    """Put back this process's SIGTERM handler after a test that installs a worker's."""
    previous = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_a_stopping_worker_serves_until_the_younger_ones_have_loaded_the_app(
    monkeypatch, tmp_path, term_handler, unfrozen
):
    loaded = load(monkeypatch)
    server, old = gunicorn_objects(tmp_path)
    old.alive, old.PIPE = True, os.pipe()
    new = types.SimpleNamespace(cfg=server.cfg, ppid=server.pid, age=2)
    loaded["pre_fork"](server, old)
    loaded["post_worker_init"](old)
    loaded["pre_fork"](server, new)  # a HUP forks a new worker, then stops the old one

    os.kill(os.getpid(), signal.SIGTERM)
    assert old.alive  # the new worker is still booting
    folder = handover.marks(server.cfg, server.pid)
    assert handover.booting_after(folder, old.age) == [new.age]
    (folder / "2.booting").replace(folder / "2.ready")  # what post_worker_init does in it

    servers.wait_until(lambda: not old.alive, what="the old worker to stop")
    assert os.read(old.PIPE[0], 1) == b"1"  # its select() was woken to see it
    loaded["child_exit"](server, old)
    loaded["child_exit"](server, new)
    loaded["on_exit"](server)
    assert not folder.exists()


def test_without_a_booting_worker_a_term_stops_at_once(
    monkeypatch, tmp_path, term_handler, unfrozen
):
    loaded = load(monkeypatch)
    server, worker = gunicorn_objects(tmp_path)
    worker.alive, worker.PIPE = True, os.pipe()
    loaded["pre_fork"](server, worker)
    loaded["post_worker_init"](worker)

    os.kill(os.getpid(), signal.SIGTERM)

    assert worker.alive is False
