"""Authenticate API requests by token: the one function the API calls on every request.

Order (DESIGN §3.3): layout and checksum with no I/O; then one indexed query by
digest joined to workspace, owner and the owner's membership; then revoked?
expired? owner active and still a member? client IP allowed? Every failure
answers the same `invalid_token`; the real reason goes to the log and, for a
token we know, to the audit log.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from types import MappingProxyType

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections
from django.db.models import Q
from django.utils import timezone

from accounts.roles import Role
from tokens import prefixes, secrets
from tokens.models import TokenStatus, lifecycle_status

logger = logging.getLogger("keyward.tokens.auth")


NO_EXTRAS: Mapping[str, object] = MappingProxyType({})
# Values other apps read in the same lookup (DESIGN §1: they register here, tokens never
# imports them): name -> a function returning a scalar SQL expression over `t` (the
# token's row) and `w` (its workspace's). Each value lands in TokenPrincipal.extras.
_lookup_columns: dict[str, Callable[[], str]] = {}


def register_lookup_column(name: str, expression: Callable[[], str]) -> None:
    """Add a value to the token lookup's row, read in the same query (e.g. a version)."""
    _lookup_columns[name] = expression
    _lookup_sql.cache_clear()
    _sqlite_driver_sql.cache_clear()


# Who hears about each use of a token (DESIGN §1: gateway counts usage; tokens never
# imports it). A plain tuple of functions: one call each, no signal dispatch on the hot path.
_use_observers: tuple[Callable[[str, str, str, str | None, str], None], ...] = ()

# The outcomes a use is announced with.
USE_OUTCOMES = ("allowed", "scope", "resource", "ip", "limit", "invalid")


def register_use_observer(observer: Callable[[str, str, str, str | None, str], None]) -> None:
    """Call `observer(token_id, outcome, resource, client_ip, user_agent)` on each token use."""
    global _use_observers
    if observer not in _use_observers:
        _use_observers = (*_use_observers, observer)


def announce_use(
    token_id: str, outcome: str, resource: str, client_ip: str | None, user_agent: str
) -> None:
    """Tell the observers that token `token_id` was used, and with what outcome."""
    for observer in _use_observers:
        observer(token_id, outcome, resource, client_ip, user_agent)


@dataclass(frozen=True, slots=True)
class TokenPrincipal:
    """Who a valid token is: what the API knows about the caller."""

    token_pk: int
    public_id: str
    name: str
    kind: str
    workspace_id: int
    workspace_slug: str
    workspace_name: str
    owner_id: int | None
    owner_email: str | None
    owner_role: Role | None
    scopes: frozenset[str]
    resources: tuple[str, ...]
    expires_at: datetime | None
    created_at: datetime
    # What other apps asked the lookup for (register_lookup_column), by name.
    extras: Mapping[str, object] = field(default=NO_EXTRAS)

    def has_scope(self, scope: str) -> bool:
        """Return whether the token holds `scope`."""
        return scope in self.scopes


class AuthenticationFailed(Exception):
    """The token does not authenticate; `reason` is for logs and audit only."""

    def __init__(self, reason: str, token_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.token_id = token_id


@cache
def _lookup_sql(vendor: str, pair: bool = False) -> str:
    """Return the one query that finds a token by digest, built once per database vendor.

    With `pair`, it finds the tokens of two digests (`digest` and `other`), each row led
    by its token's digest; without, its text is the single lookup's, unchanged.
    """
    from accounts.models import Membership, User, Workspace
    from tokens.models import Resource, Token

    aggregate = "json_agg" if vendor == "postgresql" else "json_group_array"
    link = Token.resources.through._meta.db_table
    extras = "".join(f", ({expression()})" for expression in _lookup_columns.values())
    lead = "t.digest, " if pair else ""
    match = "IN (%(digest)s, %(other)s)" if pair else "= %(digest)s"
    # Only table names from the models are interpolated; the digest is a parameter.
    sql = f"""
        SELECT {lead}t.id, t.public_id, t.name, t.kind, t.scopes, t.allowed_ips, t.expires_at,
               t.revoked_at, t.last_used_at, t.created_at, t.workspace_id, w.slug, w.name,
               t.owner_id, u.email, u.is_active, m.role,
               (SELECT {aggregate}(r.name) FROM {link} tr
                  JOIN {Resource._meta.db_table} r ON r.id = tr.resource_id
                 WHERE tr.token_id = t.id){extras}
          FROM {Token._meta.db_table} t
          JOIN {Workspace._meta.db_table} w ON w.id = t.workspace_id
          LEFT JOIN {User._meta.db_table} u ON u.id = t.owner_id
          LEFT JOIN {Membership._meta.db_table} m
                 ON m.user_id = t.owner_id AND m.workspace_id = t.workspace_id
         WHERE t.digest {match}
    """  # noqa: S608
    # One line: the backend rewrites placeholders on every execution, so shorter is faster.
    # A named placeholder: SQLite's backend rewrites those by string formatting, ten times
    # faster than the regular expression it runs over the whole query for %s.
    return " ".join(sql.split())


# SQLSTATEs of a prepared statement the server lost, or has under another client's name
# (a pooler in transaction mode that does not keep prepared statements).
LOST_PREPARED_STATEMENT = {"26000", "42P05"}


def _lookup_row(digest: str) -> tuple | None:
    """Return the lookup's row for a digest, or None."""
    return _lookup({"digest": digest}, False)


def _lookup_rows(digest: str, other: str) -> dict[str, tuple]:
    """Return the lookup's rows for two different digests, found in one query, by digest."""
    return {row[0]: row[1:] for row in _lookup({"digest": digest, "other": other}, True)}


def _lookup(params: dict[str, str], pair: bool):
    """Run the lookup; if the server lost the prepared statement, forget it and run it again."""
    try:
        return _run_lookup(params, pair)
    except DatabaseError as error:
        lost = getattr(error.__cause__, "sqlstate", None) in LOST_PREPARED_STATEMENT
        if not lost or connection.in_atomic_block:
            raise
    logger.warning(
        "The prepared token lookup was lost by the database server; preparing it again. "
        "Behind a pooler that cannot keep prepared statements, set "
        "KEYWARD_PREPARED_TOKEN_LOOKUP=0."
    )
    with connection.cursor() as cursor:
        # psycopg forgets every statement it prepared on this connection (only ours).
        cursor.execute("DEALLOCATE ALL")
        cursor.execute(_lookup_sql(connection.vendor, pair), params)
        return _fetch(cursor, pair)


def _fetch(cursor, pair: bool):
    """Return the pair lookup's rows, or the single lookup's row (None if none)."""
    return cursor.fetchall() if pair else cursor.fetchone()


def _run_lookup(params: dict[str, str], pair: bool):
    """Run the lookup once and return what it found (see _fetch).

    While nothing watches queries (no query log, no execute_wrapper: production),
    the driver's own cursor runs it, after the checks Django's cursor makes: Django's
    layers around the driver cost a request 10-15 µs of CPU (measured in place).
    Otherwise a cursor wrapped like Django's own runs it, so it is logged and counted.
    """
    # This thread's connection, found once: each attribute read through django.db.connection
    # looks it up again (1-2 µs each).
    db = connections[DEFAULT_DB_ALIAS]
    run = _DRIVER_LOOKUPS.get(db.vendor)
    if run is None or db.queries_logged or db.execute_wrappers:
        with _lookup_cursor() as cursor:
            cursor.execute(_lookup_sql(db.vendor, pair), params)
            return _fetch(cursor, pair)
    # What Django's cursor checks before and around each query.
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    db.validate_no_broken_transaction()
    with db.wrap_database_errors:
        return run(db.connection, params, pair)


def _sqlite_lookup(raw, params: dict[str, str], pair: bool):
    return _fetch(raw.execute(_sqlite_driver_sql(pair), params), pair)


@cache
def _sqlite_driver_sql(pair: bool) -> str:
    """Return the lookup with sqlite3's own named placeholders (Django's backend rewrites ours)."""
    return re.sub(r"%\((\w+)\)s", r":\1", _lookup_sql("sqlite", pair))


def _postgresql_lookup(raw, params: dict[str, str], pair: bool):
    if not settings.KEYWARD_PREPARED_TOKEN_LOOKUP:
        with raw.cursor() as cursor:  # Django's cursor class for the connection: unprepared
            cursor.execute(_lookup_sql("postgresql", pair), params)
            return _fetch(cursor, pair)
    cursor = _kept_cursor(raw)
    cursor.execute(_lookup_sql("postgresql", pair), params)
    return _fetch(cursor, pair)


# This thread's connection and the prepared cursor kept open on it for the lookup.
_kept = threading.local()


def _kept_cursor(raw):
    """Return the lookup's prepared cursor on `raw`, made once per connection and thread.

    Making and closing a psycopg cursor on every request cost the check and whoami
    40-60 µs of CPU each on PostgreSQL (measured in place, interleaved with and without).
    """
    kept = getattr(_kept, "cursor", None)
    if kept is None or kept[0] is not raw or kept[1].closed:
        _allow_preparing(raw)
        kept = _kept.cursor = (raw, _prepared_cursor_class()(raw))
    return kept[1]


_DRIVER_LOOKUPS = {"sqlite": _sqlite_lookup, "postgresql": _postgresql_lookup}


def _lookup_cursor():
    """Return a cursor for the lookup: on PostgreSQL, one that runs it as a prepared statement.

    Planning the lookup's joins costs PostgreSQL more than running them; Django
    turns prepared statements off for poolers' sake, so we ask for this one only.
    The cursor is wrapped like Django's own, so the query is logged and counted.
    """
    if connection.vendor != "postgresql" or not settings.KEYWARD_PREPARED_TOKEN_LOOKUP:
        return connection.cursor()
    # What Django's connection.cursor() does before handing out a cursor.
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    connection.validate_thread_sharing()
    raw = connection.connection
    _allow_preparing(raw)
    with connection.wrap_database_errors:
        cursor = _prepared_cursor_class()(raw)
    if connection.queries_logged:
        return connection.make_debug_cursor(cursor)
    return connection.make_cursor(cursor)


def _allow_preparing(raw) -> None:
    """Let cursors that ask prepare on this psycopg connection; Django's cursors never ask."""
    if raw.prepare_threshold is None:
        # Django turns preparing off for the connection. Allow it without ever preparing
        # on its own: only a cursor that asks (ours) prepares.
        raw.prepare_threshold = sys.maxsize


@cache
def _prepared_cursor_class() -> type:
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedCursor(ServerBindingCursor):
        """Prepare what it runs: psycopg plans it once per connection, then reuses the plan."""

        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    return PreparedCursor


@lru_cache(maxsize=4096)
def _json_strings(text: str) -> tuple[str, ...]:
    """Return a JSON list of strings as a tuple; tokens repeat, so parse each text once."""
    return tuple(json.loads(text))


def _strings(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return _json_strings(value) if isinstance(value, str) else tuple(value)


def _moment(value) -> datetime | None:
    """Return a database timestamp as an aware datetime (SQLite gives naive UTC)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _ip_allowed(ip: str | None, ranges: tuple[str, ...]) -> bool:
    if not ranges:
        return True
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    # A dual-stack server sees IPv4 clients as ::ffff:a.b.c.d; match them against IPv4 ranges.
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in ipaddress.ip_network(cidr) for cidr in ranges)


def authenticate_token(
    value: str,
    *,
    client_ip: str | None = None,
    user_agent: str = "",
    check_ip: bool = True,
    record_use: bool = True,
) -> TokenPrincipal:
    """Return the principal for a token value, or raise AuthenticationFailed."""
    if prefixes.parser().parse(value) is None:
        raise AuthenticationFailed("malformed")
    row = _lookup_row(secrets.digest(value))
    return _principal(row, timezone.now(), client_ip, user_agent, check_ip, record_use)


def authenticate_pair(
    value: str, companion: str, *, client_ip: str | None = None, user_agent: str = ""
) -> tuple[TokenPrincipal, TokenPrincipal | AuthenticationFailed]:
    """Return the principal for a token value and what a second value is, in one query.

    The first is authenticated as authenticate_token does (AuthenticationFailed is
    raised); the companion (introspection's subject) is checked without its IP
    allow-list and without recording a use, and its failure is returned, not raised.
    A malformed companion is not looked up; the caller's own token serves as both.
    """
    if prefixes.parser().parse(value) is None:
        raise AuthenticationFailed("malformed")
    digest = secrets.digest(value)
    other = None if prefixes.parser().parse(companion) is None else secrets.digest(companion)
    if other is None or other == digest:
        rows = {digest: _lookup_row(digest)}
    else:
        rows = _lookup_rows(digest, other)
    now = timezone.now()
    principal = _principal(rows.get(digest), now, client_ip, user_agent, True, True)
    if other is None:
        return principal, AuthenticationFailed("malformed")
    if other == digest:  # it passed the stricter checks as the caller
        return principal, principal
    try:
        return principal, _principal(rows.get(other), now, None, "", False, False)
    except AuthenticationFailed as failure:
        return principal, failure


def _principal(
    row: tuple | None,
    now: datetime,
    client_ip: str | None,
    user_agent: str,
    check_ip: bool,
    record_use: bool,
) -> TokenPrincipal:
    """Return the principal of a lookup's row, or raise AuthenticationFailed."""
    if row is None:
        raise AuthenticationFailed("unknown")
    (
        pk,
        public_id,
        name,
        kind,
        scopes,
        allowed_ips,
        expires_at,
        revoked_at,
        last_used_at,
        created_at,
        workspace_id,
        slug,
        workspace_name,
        owner_id,
        owner_email,
        owner_active,
        owner_role,
        resources,
        *extras,
    ) = row
    expires_at = _moment(expires_at)
    status = lifecycle_status(_moment(revoked_at), expires_at, now)
    if status != TokenStatus.ACTIVE:
        raise AuthenticationFailed(status, public_id)
    if owner_id is not None and not owner_active:
        raise AuthenticationFailed("owner_inactive", public_id)
    if owner_id is not None and owner_role is None:
        raise AuthenticationFailed("owner_not_member", public_id)
    if check_ip and not _ip_allowed(client_ip, _strings(allowed_ips)):
        raise AuthenticationFailed("ip_not_allowed", public_id)
    if record_use:
        _record_use(pk, _moment(last_used_at), now, client_ip, user_agent)
    return TokenPrincipal(
        token_pk=pk,
        public_id=public_id,
        name=name,
        kind=kind,
        workspace_id=workspace_id,
        workspace_slug=slug,
        workspace_name=workspace_name,
        owner_id=owner_id,
        owner_email=owner_email,
        owner_role=Role(owner_role) if owner_role else None,
        scopes=frozenset(_strings(scopes)),
        resources=tuple(sorted(_strings(resources))),
        expires_at=expires_at,
        created_at=_moment(created_at),
        extras=dict(zip(_lookup_columns, extras, strict=True)) if extras else NO_EXTRAS,
    )


def _record_use(pk: int, last_used_at, now: datetime, ip: str | None, agent: str) -> None:
    """Write last_used_* at most once per interval, with a conditional UPDATE."""
    threshold = now - timedelta(seconds=settings.KEYWARD_LAST_USED_INTERVAL_SECONDS)
    if last_used_at is not None and last_used_at > threshold:
        return
    from tokens.models import Token

    # The condition makes concurrent requests of other processes write once too.
    Token.objects.filter(pk=pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=threshold)
    ).update(last_used_at=now, last_used_ip=ip, last_used_user_agent=agent[:255])
