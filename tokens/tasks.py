"""Tasks of the tokens app: the emails about tokens (created, expiring soon, revoked as leaked).

Each is queued after commit by tokens.notifications with the tokens' ids and
the addresses to write to; the task loads the tokens and renders the emails.
A task never carries a token's secret: the emails show only its censored form.
"""

from __future__ import annotations

import logging

from django.tasks import task
from django.urls import reverse

from accounts.emails import Email, absolute_url, send_each
from accounts.side_effects import SideEffectsFailed
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


@task
def email_expiry_reminder(token_id: int, to: list[str], days: int, threshold: int) -> int:
    """Send a token's expiry reminder (`days` left); if it fails, release the claim on
    `threshold` so that the next run of send_expiry_reminders tries again."""
    email = {"token": token_id, "to": to, "extra": {"days": days}}
    try:
        return email_about_tokens.call("token_expiring", [email])
    except SideEffectsFailed:
        ExpiryReminder.objects.filter(token_id=token_id, days=threshold).delete()
        raise
