"""Run side effects (emails) after the change they report commits, and log when they fail.

What a person asked for is done once its transaction commits: a side effect
that fails afterwards (an SMTP server down, a header it refuses) must not turn
the answer into an error, or a token's one-time secret would be lost with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger("keyward.side_effects")


def after_commit(
    effect: Callable[[], object],
    *,
    what: str,
    on_failure: Callable[[], object] | None = None,
) -> None:
    """Run `effect` once the current transaction commits (at once outside one); log its failure.

    `what` names the effect in the log; it must never hold a secret. A batch
    job passes `on_failure` to count the failure (and undo a claim) instead.
    """

    def run() -> None:
        try:
            effect()
        except Exception:
            logger.exception("Could not %s; the change it reports was kept.", what)
            if on_failure is not None:
                on_failure()

    transaction.on_commit(run)
