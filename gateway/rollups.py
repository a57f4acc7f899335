"""Move counted uses (gateway.usage) into the usage tables, and prune them by retention.

Every tally is added at once to its minute's, hour's and day's row with an
upsert that adds (count = count + new), so writing is safe while another
flusher runs. From Redis, a minute's hash is first renamed to a name of this
flusher's own, atomically, so that two flushers never read the same counts.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from redis.exceptions import ResponseError

from gateway import usage
from gateway.usage_models import Granularity, UsageClient, UsageCount, UsageSettings
from tokens.notifications import notify_token_new_ip

logger = logging.getLogger("keyward.gateway.rollups")

FLUSHING = f"{usage.KEY_PREFIX}flushing:"


@dataclass
class FlushResult:
    """What one flush did: minutes read, rows upserted, new client IPs, rows pruned."""

    minutes: int = 0
    rows: int = 0
    new_ips: int = 0
    pruned: int = 0


def _starts(minute: int) -> dict[str, datetime]:
    moment = datetime.fromtimestamp(minute * 60, tz=UTC)
    return {
        Granularity.MINUTE: moment,
        Granularity.HOUR: moment.replace(minute=0),
        Granularity.DAY: moment.replace(hour=0, minute=0),
    }


def _count_sql() -> str:
    table = UsageCount._meta.db_table
    return (
        f"INSERT INTO {table} (token_id, granularity, start, outcome, resource, count) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (token_id, granularity, start, outcome, resource) "
        f"DO UPDATE SET count = {table}.count + excluded.count"
    )


def _insert_client_sql() -> str:
    table = UsageClient._meta.db_table
    return (
        f"INSERT INTO {table} (token_id, kind, value, first_seen, last_seen, count) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (token_id, kind, value) DO NOTHING RETURNING id"
    )


def _update_client_sql() -> str:
    table = UsageClient._meta.db_table
    return (
        f"UPDATE {table} SET count = count + %s, "  # noqa: S608
        "first_seen = CASE WHEN first_seen > %s THEN %s ELSE first_seen END, "
        "last_seen = CASE WHEN last_seen < %s THEN %s ELSE last_seen END "
        "WHERE token_id = %s AND kind = %s AND value = %s"
    )


def write(tallies: dict[int, Counter]) -> FlushResult:
    """Add tallies by minute to the usage tables in one transaction; audit new client IPs."""
    result = FlushResult(minutes=len(tallies))
    parsed = []
    for minute, tally in tallies.items():
        for name, count in tally.items():
            fields = usage.parse_field(name)
            if fields is not None and int(count) > 0:
                parsed.append((int(minute), *fields, int(count)))
    if not parsed:
        return result
    from tokens.models import Token

    tokens = {
        token.public_id: token
        for token in Token.objects.select_related("workspace").filter(
            public_id__in={row[1] for row in parsed}
        )
    }
    counts: Counter = Counter()
    clients: dict[tuple[int, str, str], list] = {}
    for minute, token_id, kind, first, second, count in parsed:
        token = tokens.get(token_id)
        if token is None:  # deleted since: its counts go with it
            continue
        if kind == "o":
            for granularity, start in _starts(minute).items():
                counts[(token.pk, str(granularity), start, first, second)] += count
        elif kind in ("ip", "ua"):
            seen = _starts(minute)[Granularity.MINUTE]
            key = (token.pk, kind, first[:255])
            if key in clients:
                entry = clients[key]
                entry[0], entry[1] = min(entry[0], seen), max(entry[1], seen)
                entry[2] += count
            else:
                clients[key] = [seen, seen, count]
    adapt = connection.ops.adapt_datetimefield_value
    by_pk = {token.pk: token for token in tokens.values()}
    new_ips = []
    with transaction.atomic(), connection.cursor() as cursor:
        # Sorted, so that concurrent flushers lock rows in one order (no deadlock).
        cursor.executemany(
            _count_sql(),
            [
                (pk, granularity, adapt(start), outcome, resource, count)
                for (pk, granularity, start, outcome, resource), count in sorted(counts.items())
            ],
        )
        for (pk, kind, value), (first_seen, last_seen, count) in sorted(clients.items()):
            first, last = adapt(first_seen), adapt(last_seen)
            cursor.execute(_insert_client_sql(), (pk, kind, value, first, last, count))
            if cursor.fetchone() is not None:
                if kind == UsageClient.Kind.IP:
                    new_ips.append((by_pk[pk], value, first_seen))
                continue
            cursor.execute(_update_client_sql(), (count, first, first, last, last, pk, kind, value))
        emailing = new_ips and set(
            UsageSettings.objects.filter(
                workspace_id__in={token.workspace_id for token, _, _ in new_ips},
                email_on_new_ip=True,
            ).values_list("workspace_id", flat=True)
        )
        for token, ip, seen in new_ips:
            _audit_new_ip(token, ip, seen)
            if token.workspace_id in emailing:
                notify_token_new_ip(token, ip, f"{seen:%b %d, %Y %H:%M}")
    result.rows = len(counts) + len(clients)
    result.new_ips = len(new_ips)
    return result


def _audit_new_ip(token, ip: str, seen: datetime) -> None:
    from accounts.audit import audit_record

    audit_record(
        action="token.new_ip",
        actor=None,
        target=token,
        details={"ip": ip, "first_seen": seen.isoformat()},
    )


def flush_redis(client) -> FlushResult:
    """Move every minute's hash from Redis to the tables; each is read by one flusher only."""
    total = FlushResult()
    for key in list(client.scan_iter(match=f"{usage.KEY_PREFIX}*", count=500)):
        name = key.decode() if isinstance(key, bytes) else key
        minute = name.removeprefix(usage.KEY_PREFIX)
        if not minute.isdigit():
            continue
        mine = f"{FLUSHING}{minute}:{uuid.uuid4().hex}"
        try:
            client.rename(name, mine)
        except ResponseError:  # another flusher took it first (no such key)
            logger.debug("Usage minute %s taken by another flusher", minute)
            continue
        raw = client.hgetall(mine)
        tally = Counter({_text(field): int(count) for field, count in raw.items()})
        try:
            result = write({int(minute): tally})
        except Exception:
            # Give the counts back to the minute, so that the next flush writes them.
            pipe = client.pipeline(transaction=True)
            for field, count in tally.items():
                pipe.hincrby(name, field, count)
            pipe.expire(name, settings.KEYWARD_USAGE_BUFFER_TTL_SECONDS)
            pipe.delete(mine)
            pipe.execute()
            raise
        client.delete(mine)
        total.minutes += 1
        total.rows += result.rows
        total.new_ips += result.new_ips
    return total


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else value


def prune(now: datetime | None = None) -> int:
    """Delete rows older than their granularity's retention; return how many."""
    now = now or timezone.now()
    retention = {
        Granularity.MINUTE: timedelta(hours=settings.KEYWARD_USAGE_MINUTE_RETENTION_HOURS),
        Granularity.HOUR: timedelta(days=settings.KEYWARD_USAGE_HOUR_RETENTION_DAYS),
    }
    if settings.KEYWARD_USAGE_DAY_RETENTION_DAYS:
        retention[Granularity.DAY] = timedelta(days=settings.KEYWARD_USAGE_DAY_RETENTION_DAYS)
    deleted = 0
    for granularity, keep in retention.items():
        deleted += UsageCount.objects.filter(
            granularity=granularity, start__lt=now - keep
        ).delete()[0]
    return deleted


def flush() -> FlushResult:
    """Flush what is buffered (Redis and this process's memory) and prune old rows."""
    client = usage.redis_client()
    if client is None:
        result = write(usage.buffer.take())
    else:
        usage.push(client)  # this process's own tallies first, so they are not a flush late
        result = flush_redis(client)
    result.pruned = prune()
    return result
