"""Send the accounts app's emails, as text and HTML."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.invitation_links import invitation_link_token
from accounts.models import Invitation
from accounts.text import name_repaired


def absolute_url(path: str, request: HttpRequest | None = None) -> str:
    """Return `path` as an absolute URL for an email."""
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.KEYWARD_BASE_URL.rstrip("/") + path


def send_templated_email(*, to: list[str], template: str, context: dict) -> None:
    """Send `emails/<template>.{txt,html}`; the first line of the text is the subject."""
    text = render_to_string(f"emails/{template}.txt", context)
    subject, _, body = text.partition("\n")
    # A header cannot hold a line break: a name stored before names were checked has one.
    message = EmailMultiAlternatives(name_repaired(subject), body.lstrip("\n"), to=to)
    message.attach_alternative(render_to_string(f"emails/{template}.html", context), "text/html")
    message.send()


def send_invitation_email(invitation: Invitation, request: HttpRequest | None = None) -> None:
    """Email the invitation's signed link to the person invited."""
    path = reverse("accounts:invitation_accept", args=[invitation_link_token(invitation)])
    send_templated_email(
        to=[invitation.email],
        template="invitation",
        context={
            "invitation": invitation,
            "accept_url": absolute_url(path, request),
            "max_age_days": settings.KEYWARD_INVITATION_MAX_AGE_DAYS,
        },
    )
