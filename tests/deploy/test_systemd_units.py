"""deploy/systemd: the units docs/deploy.md installs, as systemd reads them, and what they start.

`systemd-analyze verify` (when the machine has it) checks every directive and that each
command exists, on the units rendered for this checkout; the other tests read the
committed files themselves and hold them to the repository and to the processes they run.
"""

from __future__ import annotations

import configparser
import os
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from unittest import mock

import pytest

from tests import servers

UNITS = servers.PROJECT / "deploy" / "systemd"
HOME = "/srv/keyward"  # where docs/deploy.md clones the repository
ENV_FILE = "/etc/keyward/keyward.env"  # where docs/deploy.md installs deploy/keyward.env
SERVICES = ("keyward-web.service", "keyward-worker.service", "keyward-periodic.service")
DEPLOY_GUIDE = servers.PROJECT / "docs" / "deploy.md"


def unit(name: str) -> configparser.ConfigParser:
    """Return the committed unit `name`, its keys with their case (the last of a repeated key)."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read_string((UNITS / name).read_text())
    return parser


def in_checkout(path: str) -> Path:
    """Return where a path under /srv/keyward is in this checkout (the venv: this one's)."""
    relative = Path(path).relative_to(HOME)
    if relative.parts[0] == ".venv":
        return Path(sys.executable).parent.parent / Path(*relative.parts[1:])
    return servers.PROJECT / relative


def production_settings(**environ: str) -> dict:
    """Return the settings config/settings.py makes with `environ` added to this environment."""
    with mock.patch.dict(os.environ, environ):
        return runpy.run_path(str(servers.PROJECT / "config" / "settings.py"))


def seconds(value: str) -> float:
    """Return a systemd time span such as `45`, `45s`, `2min` or `5min 30s` in seconds."""
    units = {"min": 60, "ms": 0.001, "s": 1, "h": 3600}
    total = 0.0
    for part in value.split():
        number = part.rstrip("abcdefghijklmnopqrstuvwxyz")
        total += float(number) * units.get(part[len(number) :] or "s", 0)
    return total


def test_the_units_pass_systemd_analyze_verify_rendered_for_this_checkout(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; the tests below read the files")
    venv_bin = str(Path(sys.executable).parent) + "/"
    for path in UNITS.iterdir():
        text = path.read_text().replace(f"{HOME}/.venv/bin/", venv_bin)
        text = text.replace(HOME, str(servers.PROJECT))
        text = text.replace(ENV_FILE, str(servers.PROJECT / "deploy" / "keyward.env"))
        (tmp_path / path.name).write_text(text)

    verified = subprocess.run(  # noqa: S603 a system tool on files written here
        [analyze, "verify", *sorted(str(path) for path in tmp_path.iterdir())],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Unknown keys and values it cannot parse are only warnings: none may be printed.
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_a_file_of_the_repository_as_keyward_with_the_environment_file(name):
    service = unit(name)["Service"]
    command = shlex.split(service["ExecStart"])
    program = in_checkout(command[0])

    assert (service["User"], service["Group"]) == ("keyward", "keyward")
    assert service["WorkingDirectory"] == HOME
    assert service["EnvironmentFile"] == ENV_FILE
    assert program.is_file() and program.stat().st_mode & 0o111, program
    for argument in command[1:]:
        if argument.endswith((".py", ".sh")):  # manage.py, config/gunicorn.py
            assert (servers.PROJECT / argument).is_file(), argument


def test_the_guide_installs_the_environment_file_where_the_units_read_it():
    guide = DEPLOY_GUIDE.read_text()

    assert f"deploy/keyward.env {ENV_FILE}" in guide
    assert "cp deploy/systemd/keyward-* /etc/systemd/system/" in guide
    assert f"git clone https://example.com/keyward.git {HOME}" in guide


def test_web_and_worker_restart_by_themselves_and_the_jobs_run_hourly():
    timer = unit("keyward-periodic.timer")

    assert unit("keyward-web.service")["Service"]["Restart"] == "on-failure"
    assert unit("keyward-worker.service")["Service"]["Restart"] == "always"
    assert unit("keyward-periodic.service")["Service"]["Type"] == "oneshot"
    assert timer["Timer"]["OnCalendar"] == "hourly"
    assert timer["Timer"]["Persistent"] == "true"  # a run missed while off runs at boot
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_stopping_the_web_leaves_gunicorn_its_graceful_timeout_and_reload_is_a_hup():
    service = unit("keyward-web.service")["Service"]
    graceful = runpy.run_path(str(servers.PROJECT / "config" / "gunicorn.py"))["graceful_timeout"]

    assert service["KillMode"] == "mixed"  # TERM to the master, which stops its workers
    assert seconds(service["TimeoutStopSec"]) > graceful
    assert service["ExecReload"] == "/bin/kill -s HUP $MAINPID"
    assert service["Type"] == "notify"  # gunicorn tells systemd when it listens


def test_stopping_the_worker_sends_the_signal_it_stops_gracefully_on_and_waits_for_it(
    monkeypatch,
):
    from ops.management.commands.run_worker import GracefulWorker

    service = unit("keyward-worker.service")["Service"]
    handlers = {}
    monkeypatch.setattr(
        signal, "signal", lambda number, handler: handlers.update({number: handler})
    )
    worker = GracefulWorker.__new__(GracefulWorker)
    worker.configure_signals()
    settings = production_settings(EMAIL_HOST="smtp.example.com")
    email_timeout = settings["MAILERS"]["default"]["OPTIONS"]["timeout"]

    # The signal run_worker ends its poll loop on, letting the running task finish.
    assert handlers[signal.Signals[service["KillSignal"]]] == worker.shutdown
    assert service.get("KillMode", "control-group") == "control-group"
    assert service.get("SendSIGKILL", "yes") == "yes"  # a task hung past the timeout ends
    # Time for the task it runs: an email waits on the mail server EMAIL_TIMEOUT at most.
    assert seconds(service["TimeoutStopSec"]) > 5 * email_timeout
