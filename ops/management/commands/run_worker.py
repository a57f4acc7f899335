"""Run the task worker (django_tasks_db's db_worker) and record its heartbeat while it runs."""

from __future__ import annotations

import logging
import os
import signal

from django.conf import settings
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from config.secret_key import require_secret_key
from ops.worker import Heartbeat, worker_name

logger = logging.getLogger("keyward.ops.worker")


class GracefulWorker(db_worker.Worker):
    """db_worker's Worker, but a first SIGTERM/SIGINT never raises inside the poll loop.

    The library exits from its signal handler when idle, which can land in the middle
    of the claim transaction's commit and leave the connection unusable (exit 1).
    Here the first signal only ends the loop: it stops after the task it runs, or
    within one polling interval; a second signal still stops at once.
    """

    def shutdown(self, signum, frame) -> None:
        if not self.running:
            return super().shutdown(signum, frame)
        logger.warning("Received %s - stopping after this poll.", signal.strsignal(signum))
        self.running = False


class Command(db_worker.Command):
    help = (
        "Run the tasks queued in the database (KEYWARD_TASKS=database): emails and other side "
        "effects. Records a heartbeat every KEYWARD_WORKER_HEARTBEAT_SECONDS, which /readyz "
        "reads. SIGTERM or SIGINT stops it once the task it runs is done."
    )

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        # Named by host and process, as its heartbeat is; no reloading unless asked.
        parser.set_defaults(worker_id=worker_name()[-64:], reload=False)

    def handle(self, *args, **options) -> None:
        require_secret_key()  # its emails carry signed links
        if options["reload"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            # The reloader's parent only restarts the worker; the child it runs beats.
            return super().handle(*args, **options)
        heartbeat = Heartbeat(options["worker_id"], settings.KEYWARD_WORKER_HEARTBEAT_SECONDS)
        heartbeat.start()
        try:
            # The library's handle() builds its module's Worker: give it ours for this run.
            library_worker, db_worker.Worker = db_worker.Worker, GracefulWorker
            try:
                super().handle(*args, **options)
            finally:
                db_worker.Worker = library_worker
        finally:
            heartbeat.stop()
