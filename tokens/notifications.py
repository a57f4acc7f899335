"""Email people about their tokens: created, expiring soon, revoked as leaked.

Who is emailed is decided here, when the change is made (the caller reports
it); the emails are tasks (tokens.tasks) queued to run after commit.
"""

from __future__ import annotations

from collections.abc import Callable

from accounts.models import Membership
from accounts.roles import Role
from accounts.side_effects import enqueue_after_commit
from tokens import tasks
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


def _recipients(to: list[str | None]) -> list[str]:
    return sorted({address for address in to if address})


def notify_token_created(token: Token) -> None:
    """Tell the token's owner or creator that it was created; the Admins if a token made it."""
    person = _responsible(token)
    if person is None and token.created_by_id is None:
        # Made through the API by a workspace token: no person asked for it, so tell the Admins.
        to = _recipients(_admins(token))
    else:
        to = _recipients([person])
    if to:
        email = {"token": token.pk, "to": to, "extra": {}}
        enqueue_after_commit(tasks.email_about_tokens, "token_created", [email])


def notify_tokens_expiring(
    reminders: list[tuple[Token, int, int]], *, on_failure: Callable[[], object] | None = None
) -> None:
    """Warn each token's owner or creator (and, for workspace tokens, the Admins) of its expiry.

    Each reminder is (token, days left, threshold claimed); the claim is released
    if its email fails. One query finds the Admins of every workspace concerned,
    and one task sends all the emails on one connection to the mail server.
    `on_failure` is called if an email fails while the caller waits (inline tasks).
    """
    workspaces = {t.workspace_id for t, _, _ in reminders if t.kind == TokenKind.WORKSPACE}
    admins = _admins_of(sorted(workspaces)) if workspaces else {}
    emails = []
    for token, days, threshold in reminders:
        to = [_responsible(token)]
        if token.kind == TokenKind.WORKSPACE:
            to += admins[token.workspace_id]
        if to := _recipients(to):
            emails.append({"token": token.pk, "to": to, "days": days, "threshold": threshold})
    if emails:
        enqueue_after_commit(tasks.email_expiry_reminders, emails, on_failure=on_failure)


def notify_tokens_leaked(leaks: list[tuple[Token, dict]]) -> dict[int, list[str]]:
    """Tell each token's owner or creator and its workspace's Admins that it was revoked as leaked.

    Each leak says where the token was found (`url`, `source`) and, when a person
    reported it in Keyward, who (`found_by`); without `found_by`, GitHub found it.
    One query finds the Admins of every workspace concerned, and one task sends
    all the emails, so that the report is answered without waiting for them.
    Return the addresses emailed about each token, by its primary key.
    """
    admins = _admins_of(sorted({token.workspace_id for token, _ in leaks}))
    emailed, emails = {}, []
    for token, leak in leaks:
        to = _recipients([_responsible(token), *admins[token.workspace_id]])
        emailed[token.pk] = to
        if to:
            extra = {
                "leak_url": leak.get("url", ""),
                "leak_source": leak.get("source", ""),
                "reported_by": leak.get("found_by", ""),
            }
            emails.append({"token": token.pk, "to": to, "extra": extra})
    if emails:
        enqueue_after_commit(tasks.email_about_tokens, "token_leaked", emails)
    return emailed


def notify_token_new_ip(token: Token, ip: str, first_seen: str) -> None:
    """Tell the token's owner or creator that it was used from an address new to it."""
    if to := _recipients([_responsible(token)]):
        email = {"token": token.pk, "to": to, "extra": {"ip": ip, "first_seen": first_seen}}
        enqueue_after_commit(tasks.email_about_tokens, "token_new_ip", [email])
