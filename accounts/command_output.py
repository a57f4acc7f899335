"""Keep a management command's stdout for its result (a secret, JSON, the demo logins)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout


@contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what is printed to sys.stdout meanwhile (the console email backend) to stderr.

    A command writes its result through its own `self.stdout`, bound when it was
    made, so the result alone reaches stdout, and scripts may read it.
    """
    with redirect_stdout(sys.stderr):
        yield
