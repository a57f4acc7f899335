"""config/gunicorn.py: what it makes of the environment, and its hook for the metrics."""

from __future__ import annotations

import json
import multiprocessing
import os
import runpy
import sys
import types

import ops
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


def test_the_metrics_hear_of_a_starting_master_and_an_exiting_worker(monkeypatch):
    told = []
    metrics = types.ModuleType("ops.metrics")
    metrics.gunicorn_on_starting = lambda server: told.append(("starting", server))
    metrics.gunicorn_child_exit = lambda server, worker: told.append(("exit", worker))
    monkeypatch.setitem(sys.modules, "ops.metrics", metrics)
    monkeypatch.setattr(ops, "metrics", metrics, raising=False)
    loaded = load(monkeypatch)

    loaded["on_starting"]("server")
    loaded["child_exit"]("server", "worker 1")

    assert told == [("starting", "server"), ("exit", "worker 1")]


def test_without_the_metrics_module_the_hooks_do_nothing(monkeypatch):
    monkeypatch.setitem(sys.modules, "ops.metrics", None)  # import fails
    monkeypatch.delattr(ops, "metrics", raising=False)
    loaded = load(monkeypatch)

    assert loaded["on_starting"]("server") is None
    assert loaded["child_exit"]("server", "worker 1") is None
