"""Email the expiry reminders that are due; meant for cron, e.g. hourly."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from tokens.reminders import expiry_reminders_send


class Command(BaseCommand):
    help = (
        "Email the people of tokens that expire soon (see KEYWARD_EXPIRY_REMINDER_DAYS). "
        "Idempotent: run it hourly from cron."
    )

    def handle(self, *args, **options):
        sent = expiry_reminders_send()
        self.stdout.write(f"Sent {sent} expiry reminder(s).")
