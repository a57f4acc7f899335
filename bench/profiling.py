"""What the profile scripts share: a throwaway database, cProfile over requests, its printout.

Import it after django.setup(). What is measured and printed, for every script:
PROFILE_SORT (tottime, the default: own time; or cumulative), PROFILE_TOP (45
functions), PROFILE_CALLERS (also who calls the functions it names),
PROFILE_CPU=1 (this thread's CPU time rather than the wall clock: waits for the
database left out) and PROFILE_DUMP (a file to save the stats in, for pstats).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection
from django.test.utils import setup_test_environment

from bench.__main__ import log_to_devnull

SORT = os.environ.get("PROFILE_SORT", "tottime")
TOP = int(os.environ.get("PROFILE_TOP", "45"))
CALLERS = os.environ.get("PROFILE_CALLERS", "")


@contextmanager
def throwaway_database() -> Iterator[None]:
    """Create a test database for the block (logs written nowhere), and drop it after."""
    log_to_devnull()
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def profile(times: int, call: Callable, *args, **kwargs) -> str:
    """Call `call(*args, **kwargs)` `times` times under cProfile; return the stats to print."""
    profiler = (
        cProfile.Profile(time.thread_time) if os.environ.get("PROFILE_CPU") else cProfile.Profile()
    )
    profiler.enable()
    for _ in range(times):
        call(*args, **kwargs)
    profiler.disable()
    if os.environ.get("PROFILE_DUMP"):
        profiler.dump_stats(os.environ["PROFILE_DUMP"])
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(SORT).print_stats(TOP)
    if CALLERS:
        pstats.Stats(profiler, stream=out).sort_stats(SORT).print_callers(CALLERS)
    return out.getvalue()
