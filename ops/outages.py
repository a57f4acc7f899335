"""Decide which process logs an outage of the shared cache: the first on its machine to see it
start, and the first to see it end.

Every worker process notices by itself that Redis is gone (accounts.shared_cache);
each logging it would say the same thing once per process. So the processes of a
machine share one row of ops.CacheOutage: the process whose insert creates it (the
host is unique, so one insert wins) logs the outage, and the process whose delete
removes it logs its end. One row per machine, not per deployment: a machine cut off
from Redis while the others reach it still says so.

A row older than STALE_AFTER is taken over by the next process that sees an outage:
its end went unseen (every process that had seen it stopped before it ended), and a
new outage must not stay silent for it; a long outage is so logged again once per
STALE_AFTER. When the database cannot decide (it is down too, or the caller is inside
a transaction whose rollback would take the row with it) the process logs anyway:
twice is better than never.
"""

from __future__ import annotations

import socket
from datetime import timedelta

from django.db import DatabaseError, connection
from django.utils import timezone

from ops.models import CacheOutage

STALE_AFTER = timedelta(hours=1)
REASON_LENGTH = CacheOutage._meta.get_field("reason").max_length


def first_to_see_start(reason: str) -> bool:
    """Record that this machine's shared cache is down; return whether this process logs it."""
    if connection.in_atomic_block:
        return True
    now = timezone.now()
    reason = reason[:REASON_LENGTH]
    try:
        outage, created = CacheOutage.objects.get_or_create(
            host=socket.gethostname(), defaults={"since": now, "reason": reason}
        )
        if created:
            return True
        stale = CacheOutage.objects.filter(pk=outage.pk, since__lt=now - STALE_AFTER)
        return stale.update(since=now, reason=reason) == 1
    except DatabaseError:
        return True


def first_to_see_end() -> bool:
    """Record that this machine's shared cache answers again; return whether to log it."""
    if connection.in_atomic_block:
        return True
    try:
        deleted, _ = CacheOutage.objects.filter(host=socket.gethostname()).delete()
    except DatabaseError:
        return True
    return deleted > 0
