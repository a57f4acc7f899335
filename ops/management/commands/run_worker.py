"""Run the task worker (django_tasks_db's db_worker) and record its heartbeat while it runs."""

from __future__ import annotations

import os

from django.conf import settings
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from ops.worker import Heartbeat, worker_name


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
        if options["reload"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            # The reloader's parent only restarts the worker; the child it runs beats.
            return super().handle(*args, **options)
        heartbeat = Heartbeat(options["worker_id"], settings.KEYWARD_WORKER_HEARTBEAT_SECONDS)
        heartbeat.start()
        try:
            # db_worker's Worker stops on SIGTERM/SIGINT after its task (SystemExit when idle).
            super().handle(*args, **options)
        finally:
            heartbeat.stop()
