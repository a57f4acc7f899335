"""Tell a user by email what changed in how their account signs in: one path for every kind.

Every security email (a factor added or removed, new recovery codes, a sign-in
from a new browser, a changed password, an operator's reset) is queued here,
after the change commits, as the one task `tasks.email_security_event`. What
the task gets is what the email shows: the kind, when, from which address and
browser, and which factor in words; never a key, code or password.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import timezone

from accounts import tasks
from accounts.emails import site_url
from accounts.http import client_ip, user_agent
from accounts.models import User
from accounts.side_effects import enqueue_after_commit

AUTHENTICATOR_APP = "an authenticator app"
PASSKEY = "a passkey"


def event_details(
    request: HttpRequest | None, *, by_operator: bool = False, **facts: str
) -> dict[str, str]:
    """Return what an email says of the event: when, and where from unless an operator acted.

    An operator's own address and browser are theirs, not the user's: the email
    says an operator did it instead.
    """
    details = {"at": timezone.now().strftime("%Y-%m-%d %H:%M UTC"), **facts}
    if by_operator:
        details["operator"] = "yes"
    elif request is not None:
        details["ip"] = client_ip(request) or "unknown"
        details["agent"] = user_agent(request) or "unknown"
    return details


def security_email(
    *,
    user: User,
    event: str,
    request: HttpRequest | None = None,
    by_operator: bool = False,
    **facts: str,
) -> None:
    """Queue the security email `event` (a tasks.SECURITY_EVENTS kind) to `user` on commit.

    `facts` name what changed in words (factor="a passkey", name="Laptop").
    """
    if event not in tasks.SECURITY_EVENTS:
        raise ValueError(f"No security email {event!r}.")
    enqueue_after_commit(
        tasks.email_security_event,
        user.pk,
        event,
        site_url(request),
        event_details(request, by_operator=by_operator, **facts),
    )
