"""Email backends for tests: a mail server that refuses everything, one that counts its
connections, one that waits for the test's go; the files another process's file-based
backend wrote."""

from __future__ import annotations

import email
import email.policy
import os
import smtplib
import socket
from email.message import EmailMessage
from pathlib import Path

from django.core.mail.backends import filebased, locmem
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


class GatedFileEmailBackend(filebased.EmailBackend):
    """Django's file-based backend, in another process, that writes only when the test says so.

    Before writing, it connects to the loopback port KEYWARD_TEST_MAIL_GATE, where the
    test listens, and waits for a byte: once the test has accepted the connection it
    knows the worker is in the middle of the task, and can kill it there or let it go.
    It writes to EMAIL_FILE_PATH, as the file-based backend of production settings does.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("file_path", os.environ["EMAIL_FILE_PATH"])
        super().__init__(*args, **kwargs)

    def send_messages(self, email_messages) -> int:
        port = int(os.environ["KEYWARD_TEST_MAIL_GATE"])
        with socket.create_connection(("127.0.0.1", port)) as gate:
            if not gate.recv(1):
                raise ConnectionError("the test closed the mail gate")
        return super().send_messages(email_messages)


def messages_in(folder: Path) -> list[EmailMessage]:
    """Return the emails Django's file-based backend wrote into `folder` (another process's)."""
    separator = b"\n" + b"-" * 79 + b"\n"
    messages = []
    for path in sorted(folder.glob("*.log")):
        # Each message ends with the separator; what follows the last one is still being written.
        for raw in path.read_bytes().split(separator)[:-1]:
            messages.append(email.message_from_bytes(raw, policy=email.policy.default))
    return messages
