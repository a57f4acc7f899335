"""Email backends for tests: a mail server that refuses everything; the files another
process's file-based backend wrote."""

from __future__ import annotations

import email
import email.policy
import smtplib
from email.message import EmailMessage
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend

FAILING = {"default": {"BACKEND": "tests.mail_backends.FailingEmailBackend"}}


class FailingEmailBackend(BaseEmailBackend):
    """Refuse every message as an SMTP server that is down would."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPException("451 the mail server is down")


def messages_in(folder: Path) -> list[EmailMessage]:
    """Return the emails Django's file-based backend wrote into `folder` (another process's)."""
    separator = b"\n" + b"-" * 79 + b"\n"
    messages = []
    for path in sorted(folder.glob("*.log")):
        # Each message ends with the separator; what follows the last one is still being written.
        for raw in path.read_bytes().split(separator)[:-1]:
            messages.append(email.message_from_bytes(raw, policy=email.policy.default))
    return messages
