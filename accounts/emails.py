"""Send the app's emails, as text and HTML."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.http import HttpRequest
from django.template.loader import render_to_string

from accounts.side_effects import attempt_each
from accounts.text import name_repaired


@dataclass(frozen=True)
class Email:
    """One templated email to send; `what` names it in the log and never holds a secret.

    `on_failure` is called if it cannot be sent, to undo what assumed it would be
    (an expiry reminder claimed for it); `on_sent` once it went out, to record it.
    """

    what: str
    to: list[str]
    template: str
    context: dict
    on_failure: Callable[[], object] | None = None
    on_sent: Callable[[], object] | None = None


def site_url(request: HttpRequest | None = None) -> str:
    """Return the address emails link to: the request's own, else KEYWARD_BASE_URL.

    Called when an email is queued (the worker has no request); a task gets it as text.
    """
    if request is not None:
        return request.build_absolute_uri("/")
    return settings.KEYWARD_BASE_URL


def absolute_url(path: str, base_url: str | None = None) -> str:
    """Return `path` as an absolute URL on `base_url` (KEYWARD_BASE_URL by default)."""
    return (base_url or settings.KEYWARD_BASE_URL).rstrip("/") + path


def templated_email(*, to: list[str], template: str, context: dict) -> EmailMultiAlternatives:
    """Return `emails/<template>.{txt,html}` as a message, the text's first line its subject."""
    text = render_to_string(f"emails/{template}.txt", context)
    subject, _, body = text.partition("\n")
    # A header cannot hold a line break: a name stored before names were checked has one.
    message = EmailMultiAlternatives(name_repaired(subject), body.lstrip("\n"), to=to)
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    return message


def _send_on(connection: BaseEmailBackend, message: EmailMultiAlternatives) -> None:
    """Send `message` on `connection`, opening it if it is not open (the first time, or after a
    failure closed it)."""
    connection.open()  # a no-op while it is open
    try:
        connection.send_messages([message])
    except Exception:
        # A refused message can leave the SMTP session in any state: the next starts afresh.
        connection.close()
        raise


def _send(connection: BaseEmailBackend, email: Email) -> None:
    """Render and send `email` on `connection`; then call its on_sent, or its on_failure."""
    try:
        _send_on(
            connection,
            templated_email(to=email.to, template=email.template, context=email.context),
        )
    except Exception:
        if email.on_failure is not None:
            email.on_failure()
        raise
    if email.on_sent is not None:
        email.on_sent()


def send_each(emails: Iterable[Email]) -> int:
    """Send each email on one connection; one that fails is logged and the others still go.

    One connection (one SMTP login) for the whole batch, instead of one per
    email: a leak report about 100 tokens sends its 100 emails through one. Each
    email is still sent on its own, so that one refused address fails only its
    email; after a failure the connection is opened again for the next one.
    Return how many went; raise SideEffectsFailed after the last one if any
    failed, so that the task that sends them is recorded as failed.
    """
    connection = mailers.default  # a new backend instance, opened when the first email goes
    try:
        return attempt_each(
            (email.what, lambda email=email: _send(connection, email)) for email in emails
        )
    finally:
        connection.close()
