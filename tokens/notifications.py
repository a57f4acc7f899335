"""Email people about their tokens: created, expiring soon, revoked as leaked."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse

from accounts.emails import absolute_url, send_templated_email
from accounts.models import Membership
from accounts.roles import Role
from tokens.models import Token, TokenKind


def _responsible(token: Token) -> str | None:
    """Return the email of the person a token belongs to: its owner, else its creator."""
    person = token.owner if token.kind == TokenKind.PERSONAL else token.created_by
    return person.email if person is not None and person.is_active else None


def _admins(token: Token) -> list[str]:
    return list(
        Membership.objects.filter(
            workspace_id=token.workspace_id, role=Role.ADMIN, user__is_active=True
        ).values_list("user__email", flat=True)
    )


def _context(token: Token, **extra) -> dict:
    list_path = reverse("tokens:list", kwargs={"slug": token.workspace.slug})
    activity_path = reverse(
        "tokens:activity", kwargs={"slug": token.workspace.slug, "public_id": token.public_id}
    )
    return {
        "token": token,
        "workspace": token.workspace,
        "tokens_url": absolute_url(list_path),
        "activity_url": absolute_url(activity_path),
        **extra,
    }


def _send(to: list[str], template: str, context: dict) -> None:
    recipients = sorted({address for address in to if address})
    if recipients:
        # After the transaction commits: no email about a change that was rolled back.
        transaction.on_commit(
            lambda: send_templated_email(to=recipients, template=template, context=context)
        )


def notify_token_created(token: Token) -> None:
    """Tell the token's owner or creator that it was created; the Admins if a token made it."""
    person = _responsible(token)
    if person is None and token.created_by_id is None:
        # Made through the API by a workspace token: no person asked for it, so tell the Admins.
        _send(_admins(token), "token_created", _context(token))
    else:
        _send([person], "token_created", _context(token))


def notify_token_expiring(token: Token, days: int) -> None:
    """Warn the owner or creator (and, for workspace tokens, the Admins) of an expiry."""
    to = [_responsible(token)]
    if token.kind == TokenKind.WORKSPACE:
        to += _admins(token)
    _send(to, "token_expiring", _context(token, days=days))


def notify_token_leaked(token: Token, *, url: str, source: str, found_by: str = "") -> None:
    """Tell the owner or creator and the workspace's Admins that a leaked token was revoked.

    `found_by` names the person who reported it in Keyward; empty means GitHub found it.
    """
    _send(
        [_responsible(token), *_admins(token)],
        "token_leaked",
        _context(token, leak_url=url, leak_source=source, reported_by=found_by),
    )
