"""Email the expiry reminders that are due and erase expired tokens' copies; hourly cron."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from tokens.reminders import expiry_reminders_send
from tokens.services import ended_copies_erase


class Command(BaseCommand):
    help = (
        "Email the people of tokens that expire soon (see KEYWARD_EXPIRY_REMINDER_DAYS). "
        "Also erases the stored copies of expired tokens. Idempotent: run it hourly from cron."
    )

    def handle(self, *args, **options):
        run = expiry_reminders_send()
        self.stdout.write(f"Sent {run.reminded} expiry reminder(s).")
        erased = ended_copies_erase()
        if erased:
            self.stdout.write(f"Erased the stored copies of {erased} expired token(s).")
        if run.failed:
            # After the whole batch, so that one bad token never stops the others.
            raise CommandError(
                f"Could not send the expiry reminders of {len(run.failed)} token(s) "
                f"({', '.join(run.failed)}); see the log. They are tried again next run."
            )
