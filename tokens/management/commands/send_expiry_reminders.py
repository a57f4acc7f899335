"""Email the expiry reminders that are due and erase expired tokens' copies; hourly cron."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tokens.reminders import expiry_reminders_send
from tokens.services import ended_copies_erase


class Command(BaseCommand):
    help = (
        "Email the people of tokens that expire soon (see KEYWARD_EXPIRY_REMINDER_DAYS). "
        "Also erases the stored copies of expired tokens. Idempotent: run it hourly from cron."
    )

    def handle(self, *args, **options):
        sent = expiry_reminders_send()
        self.stdout.write(f"Sent {sent} expiry reminder(s).")
        erased = ended_copies_erase()
        if erased:
            self.stdout.write(f"Erased the stored copies of {erased} expired token(s).")
