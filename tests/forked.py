"""Run Python code in worker processes forked from one Django process, as gunicorn does.

Tests of state shared between processes (limits counted in Redis or the database
cache) start one interpreter with production settings, set Django up once, and
fork the workers from it: separate processes with their own connections, at the
cost of one Django start-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests import servers

RUNNER = """
import json, os, sys
import django
django.setup()
from django.db import connections
code, plan = sys.argv[1], json.loads(sys.argv[2])
exec(code)  # defines work(arg), may prepare state first
connections.close_all()
for args in plan:  # one worker after the other, each in its own process
    pids = []
    for arg in args:  # these at the same time
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                # One write per answer: a pipe keeps writes under PIPE_BUF whole, while
                # print's text and newline may reach it apart and interleave with a sibling's.
                os.write(1, (json.dumps(work(arg)) + "\\n").encode())
                code = 0
            finally:
                os._exit(code)
        pids.append(pid)
    for pid in pids:
        assert os.waitpid(pid, 0)[1] == 0, "a worker failed"
"""


def run_workers(code: str, plan: list[list], env: dict[str, str]) -> list:
    """Run `code` once (it defines `work(arg)`), then `work` in forked workers; return answers.

    `plan` is a list of rounds run one after the other; each argument of a round
    gets its own worker, and a round's workers run at the same time.
    """
    done = subprocess.run(  # noqa: S603 our own interpreter and code
        [sys.executable, "-c", RUNNER, code, json.dumps(plan)],
        cwd=servers.PROJECT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
