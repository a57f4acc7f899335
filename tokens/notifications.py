"""Email people about their tokens: created, expiring soon, revoked as leaked."""

from __future__ import annotations

from django.urls import reverse

from accounts.emails import absolute_url, send_templated_email
from accounts.models import Membership
from accounts.roles import Role
from accounts.side_effects import after_commit
from tokens.models import Token, TokenKind


def _responsible(token: Token) -> str | None:
    """Return the email of the person a token belongs to: its owner, else its creator."""
    person = token.owner if token.kind == TokenKind.PERSONAL else token.created_by
    return person.email if person is not None and person.is_active else None


def _admins(token: Token) -> list[str]:
    return _admins_of([token.workspace_id])[token.workspace_id]


def _admins_of(workspace_ids: list[int]) -> dict[int, list[str]]:
    """Return the emails of the active Admins of each workspace, in one query."""
    admins: dict[int, list[str]] = {workspace_id: [] for workspace_id in workspace_ids}
    rows = Membership.objects.filter(
        workspace_id__in=workspace_ids, role=Role.ADMIN, user__is_active=True
    ).values_list("workspace_id", "user__email")
    for workspace_id, email in rows:
        admins[workspace_id].append(email)
    return admins


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


def _send(to: list[str], template: str, context: dict, on_failure=None) -> list[str]:
    """Send the email once the transaction commits; return its recipients."""
    recipients = sorted({address for address in to if address})
    if recipients:
        token = context["token"]
        after_commit(
            lambda: send_templated_email(to=recipients, template=template, context=context),
            what=f"send the {template} email about token {token.public_id}",
            on_failure=on_failure,
        )
    return recipients


def notify_token_created(token: Token) -> None:
    """Tell the token's owner or creator that it was created; the Admins if a token made it."""
    person = _responsible(token)
    if person is None and token.created_by_id is None:
        # Made through the API by a workspace token: no person asked for it, so tell the Admins.
        _send(_admins(token), "token_created", _context(token))
    else:
        _send([person], "token_created", _context(token))


def notify_token_expiring(token: Token, days: int, on_failure=None) -> None:
    """Warn the owner or creator (and, for workspace tokens, the Admins) of an expiry.

    `on_failure` is called if the email, sent after commit, fails.
    """
    to = [_responsible(token)]
    if token.kind == TokenKind.WORKSPACE:
        to += _admins(token)
    _send(to, "token_expiring", _context(token, days=days), on_failure)


def notify_tokens_leaked(leaks: list[tuple[Token, dict]]) -> dict[int, list[str]]:
    """Tell each token's owner or creator and its workspace's Admins that it was revoked as leaked.

    Each leak says where the token was found (`url`, `source`) and, when a person
    reported it in Keyward, who (`found_by`); without `found_by`, GitHub found it.
    One query finds the Admins of every workspace concerned. Return the addresses
    emailed about each token, by its primary key.
    """
    admins = _admins_of(sorted({token.workspace_id for token, _ in leaks}))
    emailed = {}
    for token, leak in leaks:
        context = _context(
            token,
            leak_url=leak.get("url", ""),
            leak_source=leak.get("source", ""),
            reported_by=leak.get("found_by", ""),
        )
        emailed[token.pk] = _send(
            [_responsible(token), *admins[token.workspace_id]], "token_leaked", context
        )
    return emailed
