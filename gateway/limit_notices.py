"""Tell a token's owner (or creator) when it has used 80 % and 100 % of its quota.

Counting returns each value of a period's counter exactly once (it is atomic),
so the request that reaches a threshold is the only one that sees it: each
notice goes once per period with no record to keep. Emails are tasks queued
after commit; every notice is audited.
"""

from __future__ import annotations

import math
from datetime import datetime

from accounts.audit import audit_record
from accounts.side_effects import enqueue_after_commit
from gateway import limit_counts
from gateway.limit_spec import Limits
from tokens import tasks
from tokens.auth import TokenPrincipal
from tokens.models import Token
from tokens.notifications import _responsible

THRESHOLDS = (80, 100)


def threshold_reached(quota: int, used: int) -> int | None:
    """Return the percentage (80 or 100) that `used` just reached, or None."""
    if used == quota:
        return 100
    if used == math.ceil(quota * 0.8) and used < quota:
        return 80
    return None


def quota_used(principal: TokenPrincipal, limits: Limits, used: int, now: datetime) -> None:
    """Notify and audit when this request's use of the quota reached a threshold."""
    if limits.quota is None:
        return
    percent = threshold_reached(limits.quota, used)
    if percent is None:
        return
    token = Token.objects.select_related("workspace", "owner", "created_by").get(
        pk=principal.token_pk
    )
    period = limit_counts.quota_period(limits.quota_period, now)
    audit_record(
        action="token.quota_reached",
        actor=None,
        target=token,
        details={"percent": percent, "used": used, "quota": limits.quota, "period": period},
    )
    person = _responsible(token)
    if person:
        extra = {"percent": percent, "used": used, "quota": limits.quota, "period": period}
        email = {"token": token.pk, "to": [person], "extra": extra}
        enqueue_after_commit(tasks.email_about_tokens, "token_quota", [email])
