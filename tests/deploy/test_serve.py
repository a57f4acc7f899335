"""`make serve` (scripts/serve.sh): production settings in the foreground, both or neither."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import servers

SERVE = servers.PROJECT / "scripts" / "serve.sh"


def serve_env(tmp_path, **extra) -> dict[str, str]:
    """Return an environment for serve.sh: this interpreter, SQLite and static files in tmp."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"SECRET_KEY", "DATABASE_URL", "DJANGO_SETTINGS_MODULE", "KEYWARD_HTTPS"}
    }
    return {
        **env,
        "PYTHON": sys.executable,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "STATIC_ROOT": str(tmp_path / "static"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        **extra,
    }


def test_it_refuses_to_start_without_a_secret_key_and_says_how_to_make_one(tmp_path):
    ran = subprocess.run(  # noqa: S603 the committed script
        [str(SERVE)], env=serve_env(tmp_path), capture_output=True, text=True, timeout=60
    )

    assert ran.returncode == 2
    assert "needs a SECRET_KEY" in ran.stderr and "secrets.token_urlsafe" in ran.stderr
    assert not (tmp_path / "db.sqlite3").exists()  # nothing ran


def test_ctrl_c_stops_gunicorn_and_the_worker_together(tmp_path):
    if os.environ.get("DATABASE_URL"):
        pytest.skip("runs once, in the SQLite run (make serve's default database)")
    port = servers.free_port()
    env = serve_env(tmp_path, SECRET_KEY="s" * 50, KEYWARD_HTTPS="0", PORT=str(port))
    serve = servers.start(
        "serve",
        [str(SERVE)],
        workdir=tmp_path,
        env=env,
        ready=lambda: servers.answers_http(port, "/accounts/login/"),
    )
    with servers.running(serve):
        pids = servers.children(serve.process.pid)
        commands = " ".join(Path(f"/proc/{pid}/cmdline").read_text() for pid in pids)
        assert "gunicorn" in commands and "run_worker" in commands
        os.killpg(serve.process.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        serve.process.wait(timeout=120)

    assert serve.process.returncode == 130
    assert [pid for pid in pids if os.path.exists(f"/proc/{pid}")] == []
