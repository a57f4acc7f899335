"""Count each use of a token, per minute, without a database write per request.

A use is one increment of a per-minute tally: (token, outcome, resource), and
the client IP and user agent it came from. With Redis (REDIS_URL) the tallies
live in one hash per minute, written by a single pipelined round trip; every
worker process shares them and `manage.py flush_usage` moves them to the
database (gateway.rollups). Without Redis each process keeps its own tallies in
memory and flushes them itself, at most once a minute and when it exits.

A field of a minute's hash is `<token id>\\x1f<kind>\\x1f<a>\\x1f<b>`: kind "o"
(outcome a, resource b), "ip" (address a) or "ua" (user agent a).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import caches
from django.db import transaction

from accounts import shared_cache
from tokens.auth import USE_OUTCOMES

logger = logging.getLogger("keyward.gateway.usage")

KEY_PREFIX = "keyward:usage:"
SEPARATOR = "\x1f"
USER_AGENT_MAX_LENGTH = 255
# The outcome each gateway decision counts as; a refusal not listed counts as "limit"
# when a valid token was over one, else as a refused resource.
DECISION_OUTCOMES = {
    "ok": "allowed",
    "insufficient_scope": "scope",
    "resource_not_allowed": "resource",
    "no_matching_service": "resource",
    "invalid_path": "resource",
    "ip_not_allowed": "ip",
    "invalid_token": "invalid",
}
_clock = time.time


def minute_of(moment: float) -> int:
    """Return the Unix minute (seconds // 60) a moment falls in."""
    return int(moment // 60)


def field(token_id: str, kind: str, first: str, second: str = "") -> str:
    """Return the tally field for a token and what it counts."""
    return SEPARATOR.join((token_id, kind, first, second))


def parse_field(name: str) -> tuple[str, str, str, str] | None:
    """Return (token id, kind, a, b) from a tally field, or None for a malformed one."""
    parts = name.split(SEPARATOR)
    return tuple(parts) if len(parts) == 4 else None


def _fields(token_id, outcome, resource, client_ip, user_agent) -> tuple[str, ...]:
    fields = [field(token_id, "o", outcome, resource or "")]
    if client_ip:
        fields.append(field(token_id, "ip", client_ip))
    if user_agent:
        fields.append(field(token_id, "ua", user_agent[:USER_AGENT_MAX_LENGTH]))
    return tuple(fields)


def redis_client():
    """Return the raw Redis client behind the default cache, or None without Redis."""
    cache = caches["default"]
    if shared_cache.backend_name(cache) != "redis":
        return None
    return cache._cache.get_client(write=True)


class MemoryBuffer:
    """One process's tallies by minute; flushed by the process itself (gateway.rollups)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tallies: dict[int, Counter] = {}
        self._flushed_at = _clock()

    def add(self, minute: int, fields: Iterable[str]) -> None:
        """Count one use in `minute`."""
        with self._lock:
            tally = self._tallies.setdefault(minute, Counter())
            for name in fields:
                tally[name] += 1

    def take(self) -> dict[int, Counter]:
        """Return every tally and forget them (the caller writes them)."""
        with self._lock:
            tallies, self._tallies = self._tallies, {}
            self._flushed_at = _clock()
        return tallies

    def due(self) -> bool:
        """Return whether a minute has passed since the last flush, and there is something."""
        return bool(self._tallies) and _clock() - self._flushed_at >= 60


buffer = MemoryBuffer()


def record(
    token_id: str, outcome: str, resource: str, client_ip: str | None, user_agent: str
) -> None:
    """Count one use of token `token_id` (its public id) in the current minute."""
    if outcome not in USE_OUTCOMES:
        outcome = "invalid"
    minute = minute_of(_clock())
    fields = _fields(token_id, outcome, resource, client_ip, user_agent)
    client = redis_client()
    if client is None:
        buffer.add(minute, fields)
        if buffer.due():
            # After the surrounding transaction commits, if there is one: a flush inside one
            # that rolls back would lose the counts it took. A rollback keeps them for later.
            transaction.on_commit(_flush_memory)
        return
    key = f"{KEY_PREFIX}{minute}"
    try:
        pipe = client.pipeline(transaction=False)
        for name in fields:
            pipe.hincrby(key, name, 1)
        # A minute nobody flushes goes away rather than grow Redis for ever.
        pipe.expire(key, settings.KEYWARD_USAGE_BUFFER_TTL_SECONDS)
        pipe.execute()
    except Exception as error:  # counting must never fail a request
        logger.warning("Usage not counted in Redis: %s", type(error).__name__)
        buffer.add(minute, fields)


def record_decision(decision, client_ip: str | None, user_agent: str) -> None:
    """Count a gateway check's decision for the token it names; no token, nothing counted."""
    if decision.principal is not None:
        token_id = decision.principal.public_id
    elif decision.failure is not None and decision.failure.token_id:
        token_id = decision.failure.token_id
    else:
        return
    outcome = DECISION_OUTCOMES.get(decision.reason)
    if outcome is None:
        outcome = "limit" if decision.principal is not None else "invalid"
    record(token_id, outcome, decision.resource or "", client_ip, user_agent)


def _flush_memory() -> None:
    from gateway import rollups

    try:
        rollups.write(buffer.take())
    except Exception:
        logger.exception("Usage counted in this process could not be written")


atexit.register(_flush_memory)
