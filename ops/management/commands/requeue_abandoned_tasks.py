"""Queue again the tasks whose worker died while running them; hourly, and in every worker."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from ops.abandoned_tasks import MAX_CLAIMS, abandoned_tasks_recover


class Command(BaseCommand):
    help = (
        "Queue again the tasks left RUNNING by a worker that died (SIGKILL, out of memory, "
        "a lost machine): RUNNING for KEYWARD_TASK_REQUEUE_AFTER seconds, their worker silent "
        f"for KEYWARD_WORKER_HEARTBEAT_MAX_AGE. A task abandoned {MAX_CLAIMS} times is failed "
        "instead. Idempotent; each run_worker also does it every KEYWARD_WORKER_HEARTBEAT_MAX_AGE."
    )

    def handle(self, *args, **options):
        recovered = abandoned_tasks_recover()
        self.stdout.write(f"Queued {recovered.requeued} abandoned task(s) again.")
        if recovered.failed:
            self.stdout.write(
                f"Failed {recovered.failed} task(s) whose workers died {MAX_CLAIMS} times running "
                "them; see Task Results in Django admin."
            )
