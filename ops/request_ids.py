"""The request id: taken from a proxy's X-Request-ID when well formed, else made here.

It names one request in every log line written while the request runs (a context
variable read by ops.logs.RequestIdFilter) and goes back in the X-Request-ID header.
"""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
# Letters, digits, '.', ':' and '-' (nginx's $request_id, UUIDs, trace ids). No '_': a
# token (kww_…) sent there by mistake is never taken, so never logged; no spaces or
# quotes, so the id cannot forge log lines.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]{0,127}")

current: ContextVar[str | None] = ContextVar("keyward_request_id", default=None)


def new() -> str:
    """Return a fresh request id: 32 hex characters, like nginx's $request_id."""
    return os.urandom(16).hex()


def accept(value: str | None) -> str:
    """Return `value` if it is a well-formed request id, else a fresh one."""
    if value and WELL_FORMED.fullmatch(value):
        return value
    return new()


def forget(**kwargs) -> None:
    """Forget the request id once the request finished (a request_finished receiver)."""
    current.set(None)
