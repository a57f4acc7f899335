"""Email backends for tests: a mail server that refuses everything, one that counts its
connections; the files another process's file-based backend wrote."""

from __future__ import annotations

import email
import email.policy
import smtplib
from email.message import EmailMessage
from pathlib import Path

from django.core.mail.backends import locmem
from django.core.mail.backends.base import BaseEmailBackend

FAILING = {"default": {"BACKEND": "tests.mail_backends.FailingEmailBackend"}}
COUNTING = {"default": {"BACKEND": "tests.mail_backends.ConnectionCountingEmailBackend"}}


class FailingEmailBackend(BaseEmailBackend):
    """Refuse every message as an SMTP server that is down would."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPException("451 the mail server is down")


class ConnectionCountingEmailBackend(locmem.EmailBackend):
    """Django's locmem backend (mail.outbox), counting the connections SMTP's would open.

    As SMTP's backend does: open() connects unless it is connected; send_messages()
    without an open connection opens one for its messages and closes it after.
    `opened` counts the connections of every instance.
    """

    opened = 0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connected = False

    def open(self) -> bool:
        if self.connected:
            return False
        type(self).opened += 1
        self.connected = True
        return True

    def close(self) -> None:
        self.connected = False

    def send_messages(self, email_messages) -> int:
        opened_here = self.open()
        try:
            return super().send_messages(email_messages)
        finally:
            if opened_here:
                self.close()


def messages_in(folder: Path) -> list[EmailMessage]:
    """Return the emails Django's file-based backend wrote into `folder` (another process's)."""
    separator = b"\n" + b"-" * 79 + b"\n"
    messages = []
    for path in sorted(folder.glob("*.log")):
        # Each message ends with the separator; what follows the last one is still being written.
        for raw in path.read_bytes().split(separator)[:-1]:
            messages.append(email.message_from_bytes(raw, policy=email.policy.default))
    return messages
