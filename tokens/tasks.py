"""Tasks of the tokens app: the emails about tokens (created, expiring soon, revoked as leaked).

Each is queued after commit by tokens.notifications with the tokens' ids and
the addresses to write to; the task loads the tokens and renders the emails.
A task never carries a token's secret: the emails show only its censored form.
"""

from __future__ import annotations

import logging
from functools import partial

from django.tasks import task
from django.urls import reverse
from django.utils import timezone

from accounts.emails import Email, absolute_url, send_each
from tokens.models import ExpiryReminder, Token

logger = logging.getLogger("keyward.tokens.tasks")


def _context(token: Token, **extra) -> dict:
    slug = token.workspace.slug
    list_path = reverse("tokens:list", kwargs={"slug": slug})
    activity_path = reverse("tokens:activity", kwargs={"slug": slug, "public_id": token.public_id})
    return {
        "token": token,
        "workspace": token.workspace,
        "tokens_url": absolute_url(list_path),
        "activity_url": absolute_url(activity_path),
        **extra,
    }


@task
def email_about_tokens(template: str, emails: list[dict]) -> int:
    """Send `emails/<template>` about each token to its people; return how many were sent.

    Each entry of `emails` is {"token": its primary key, "to": [addresses],
    "extra": {more context}}. One query loads every token; one email that
    fails is logged and the others still go, then the task is failed.
    """
    tokens = Token.objects.select_related("workspace").in_bulk([e["token"] for e in emails])
    for gone in {e["token"] for e in emails} - set(tokens):
        logger.warning("Token %s no longer exists; its %s email is not sent.", gone, template)
    return send_each(
        Email(
            f"send the {template} email about token {tokens[e['token']].public_id}",
            e["to"],
            template,
            _context(tokens[e["token"]], **e["extra"]),
        )
        for e in emails
        if e["token"] in tokens
    )


def _claim_of(token_id: int, threshold: int):
    return ExpiryReminder.objects.filter(token_id=token_id, days=threshold)


def _release(token_id: int, threshold: int) -> None:
    _claim_of(token_id, threshold).delete()


def _mark_emailed(token_id: int, threshold: int) -> None:
    _claim_of(token_id, threshold).update(emailed_at=timezone.now())


@task
def email_expiry_reminders(reminders: list[dict]) -> int:
    """Send a batch of expiry reminders, one email per token, on one connection; return how many
    were sent.

    Each entry of `reminders` is {"token": its primary key, "to": [addresses],
    "days": the days left, "threshold": the reminder claimed for it}. One query
    loads every token, one the claims still waiting for their email: a task run
    again after its worker died skips the reminders it had already emailed (each
    is marked when it goes). A reminder that fails is logged and its claim
    released, so that the next run of send_expiry_reminders sends it again; the
    others still go, then the task is failed.
    """
    ids = [r["token"] for r in reminders]
    tokens = Token.objects.select_related("workspace").in_bulk(ids)
    for gone in set(ids) - set(tokens):
        logger.warning("Token %s no longer exists; its expiry reminder is not sent.", gone)
    waiting = set(
        ExpiryReminder.objects.filter(token_id__in=ids, emailed_at=None).values_list(
            "token_id", "days"
        )
    )
    due = [r for r in reminders if r["token"] in tokens]
    for r in due:
        if (r["token"], r["threshold"]) not in waiting:
            logger.info(
                "The expiry reminder of token %s was already emailed (or released); not again.",
                tokens[r["token"]].public_id,
            )
    return send_each(
        Email(
            f"send the token_expiring email about token {tokens[r['token']].public_id}",
            r["to"],
            "token_expiring",
            _context(tokens[r["token"]], days=r["days"]),
            on_failure=partial(_release, r["token"], r["threshold"]),
            on_sent=partial(_mark_emailed, r["token"], r["threshold"]),
        )
        for r in due
        if (r["token"], r["threshold"]) in waiting
    )


@task
def email_expiry_reminder(token_id: int, to: list[str], days: int, threshold: int) -> int:
    """Send one token's expiry reminder: a task queued one per token before reminders went in
    batches, still waiting in the queue of an upgraded deployment."""
    reminder = {"token": token_id, "to": to, "days": days, "threshold": threshold}
    return email_expiry_reminders.call([reminder])
