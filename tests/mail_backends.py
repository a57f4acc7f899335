"""Email backends for tests: a mail server that refuses everything."""

from __future__ import annotations

import smtplib

from django.core.mail.backends.base import BaseEmailBackend

FAILING = {"default": {"BACKEND": "tests.mail_backends.FailingEmailBackend"}}


class FailingEmailBackend(BaseEmailBackend):
    """Refuse every message as an SMTP server that is down would."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPException("451 the mail server is down")
