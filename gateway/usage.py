"""Count each use of a token, per minute, without a database write per request.

A use is one increment of a per-minute tally: (token, outcome, resource), and
the client IP and user agent it came from. Every process counts in its own
memory, so a request pays no I/O for it. With Redis (REDIS_URL) a thread per
process adds the tallies to one hash per minute about once a second, in one
pipelined round trip, and `manage.py flush_usage` moves the hashes to the
database (gateway.rollups). Without Redis each process writes its tallies to the
database itself, at most once a minute and when it exits.

A field of a minute's hash is `<token id>\\x1f<kind>\\x1f<a>\\x1f<b>`: kind "o"
(outcome a, resource b), "ip" (address a) or "ua" (user agent a).
"""

from __future__ import annotations

import atexit
import logging
import os
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


def in_redis() -> bool:
    """Return whether tallies go to Redis (the default cache is Redis)."""
    return shared_cache.backend_name(caches["default"]) == "redis"


def redis_client():
    """Return the raw Redis client behind the default cache, or None without Redis."""
    if not in_redis():
        return None
    return caches["default"]._cache.get_client(write=True)


class MemoryBuffer:
    """One process's tallies by minute, until they are pushed to Redis or written (rollups)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tallies: dict[int, Counter] = {}
        self._flushed_at = _clock()

    def add(self, minute: int, fields: Iterable[str], count: int = 1) -> None:
        """Count `count` uses in `minute`."""
        with self._lock:
            tally = self._tallies.setdefault(minute, Counter())
            for name in fields:
                tally[name] += count

    def give_back(self, tallies: dict[int, Counter]) -> None:
        """Return tallies taken but not written, so that the next flush writes them."""
        with self._lock:
            for minute, tally in tallies.items():
                self._tallies.setdefault(minute, Counter()).update(tally)

    def take(self) -> dict[int, Counter]:
        """Return every tally and forget them (the caller writes them)."""
        with self._lock:
            tallies, self._tallies = self._tallies, {}
            self._flushed_at = _clock()
        return tallies

    def due(self) -> bool:
        """Return whether a minute has passed since the last flush, and there is something."""
        return bool(self._tallies) and _clock() - self._flushed_at >= 60

    def __bool__(self) -> bool:
        return bool(self._tallies)


buffer = MemoryBuffer()


def record(
    token_id: str, outcome: str, resource: str, client_ip: str | None, user_agent: str
) -> None:
    """Count one use of token `token_id` (its public id) in the current minute.

    The count stays in this process's memory: no I/O on the request's path. With
    Redis a background thread pushes the tallies there about once a second; without,
    the process writes them to the database itself at most once a minute.
    """
    if outcome not in USE_OUTCOMES:
        outcome = "invalid"
    buffer.add(minute_of(_clock()), _fields(token_id, outcome, resource, client_ip, user_agent))
    if in_redis():
        if settings.KEYWARD_USAGE_PUSH_SECONDS:
            pusher.ensure_running()
    elif buffer.due():
        # After the surrounding transaction commits, if there is one: a flush inside one
        # that rolls back would lose the counts it took. A rollback keeps them for later.
        transaction.on_commit(_flush_memory)


def push(client=None) -> int:
    """Add this process's tallies to Redis's per-minute hashes in one round trip; return fields.

    On failure the tallies go back to memory for the next push, so a Redis outage
    loses nothing a process keeps running through (minutes older than the Redis
    hashes' lifetime are dropped rather than grow memory for ever).
    """
    client = client or redis_client()
    tallies = buffer.take()
    if client is None or not tallies:
        if tallies:
            buffer.give_back(tallies)
        return 0
    pipe = client.pipeline(transaction=False)
    fields = 0
    for minute, tally in tallies.items():
        key = f"{KEY_PREFIX}{minute}"
        for name, count in tally.items():
            pipe.hincrby(key, name, count)
            fields += 1
        # A minute nobody flushes goes away rather than grow Redis for ever.
        pipe.expire(key, settings.KEYWARD_USAGE_BUFFER_TTL_SECONDS)
    try:
        pipe.execute()
    except Exception:
        oldest = minute_of(_clock() - settings.KEYWARD_USAGE_BUFFER_TTL_SECONDS)
        buffer.give_back({minute: tally for minute, tally in tallies.items() if minute > oldest})
        raise
    return fields


class Pusher:
    """A daemon thread per process that pushes the tallies to Redis every few seconds."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False

    def ensure_running(self) -> None:
        """Start the thread in this process unless it runs already (a fork leaves it behind)."""
        if self._pid == os.getpid():
            return
        with _start_lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="keyward-usage-push", daemon=True
            )
            self._thread.start()

    def stop(self, wait: float = 0) -> None:
        """End this process's thread after one last push, waiting up to `wait` seconds for
        it (at exit: a push under way must not die with the interpreter)."""
        with _start_lock:
            running = self._pid == os.getpid()
            self._pid = None
            self._stop.set()
            thread, self._thread = self._thread, None
        if running and wait and thread is not None:
            thread.join(wait)

    def _run(self, stop: threading.Event) -> None:
        while not stop.wait(settings.KEYWARD_USAGE_PUSH_SECONDS or 1):
            self.push_now()
        self.push_now()

    def push_now(self) -> None:
        """Push now; log the first failure of a run and the recovery, not every second."""
        try:
            push()
        except Exception as error:  # counting must never fail, nor end the thread
            if not self._failing:
                reason = type(error).__name__
                logger.warning("Usage not pushed to Redis, kept in memory: %s", reason)
            self._failing = True
        else:
            if self._failing:
                logger.info("Usage pushed to Redis again")
            self._failing = False


_start_lock = threading.Lock()
pusher = Pusher()


def _forget_after_fork() -> None:
    # A forked child starts with no tallies: its parent still owns (and pushes) them. Nor
    # does it inherit the parent's thread, or its lock as another thread may have held it.
    global buffer, pusher, _start_lock
    buffer = MemoryBuffer()
    pusher = Pusher()
    _start_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_after_fork)


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

    tallies = buffer.take()
    try:
        rollups.write(tallies)
    except Exception:
        logger.exception("Usage counted in this process could not be written; kept for later")
        buffer.give_back(tallies)


# How long an exiting process waits for its push thread's last push.
EXIT_PUSH_WAIT_SECONDS = 5


def flush_at_exit() -> None:
    """Push (Redis) or write (database) what this process still holds; it is exiting."""
    pusher.stop(wait=EXIT_PUSH_WAIT_SECONDS)  # its push under way, and its last one
    if not buffer:
        return
    try:
        client = redis_client()
    except Exception:
        client = None
    if client is not None:
        try:
            push(client)
            return
        except Exception:
            logger.warning("Usage not pushed to Redis at exit; writing it to the database")
    _flush_memory()


atexit.register(flush_at_exit)
