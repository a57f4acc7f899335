"""Tasks abandoned by a worker that died running them are queued again (ops.abandoned_tasks);
the killed worker itself, for real, is in test_worker.py."""

from __future__ import annotations

import io
import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from ops.abandoned_tasks import MAX_CLAIMS, abandoned_tasks_recover
from ops.models import WorkerHeartbeat
from tokens.tasks import email_about_tokens

pytestmark = pytest.mark.django_db

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture(autouse=True)
def database_tasks(settings):
    settings.TASKS = DATABASE_TASKS
    settings.KEYWARD_WORKER_HEARTBEAT_MAX_AGE = 60
    settings.KEYWARD_TASK_REQUEUE_AFTER = 300


def claimed(*workers: str, minutes_ago: float = 10) -> DBTaskResult:
    """Queue a task and have `workers` claim it in turn, the last one `minutes_ago`."""
    row = DBTaskResult.objects.get(pk=email_about_tokens.enqueue("token_created", []).id)
    for worker in workers:
        row.claim(worker)
    DBTaskResult.objects.filter(pk=row.pk).update(
        started_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    row.refresh_from_db()
    return row


def beats(worker: str, seconds_ago: float) -> None:
    WorkerHeartbeat.objects.create(
        worker=worker, seen_at=timezone.now() - timedelta(seconds=seconds_ago)
    )


def status_of(row: DBTaskResult) -> str:
    row.refresh_from_db()
    return row.status


def test_a_task_of_a_silent_worker_is_queued_again_once(caplog):
    beats("host:1", seconds_ago=61)
    row = claimed("host:1")

    with caplog.at_level(logging.WARNING):
        assert abandoned_tasks_recover().requeued == 1

    assert status_of(row) == "READY"
    assert row.started_at is None
    assert row.worker_ids == ["host:1"]  # who ran it, kept for the record
    assert DBTaskResult.objects.ready().get() == row  # what a worker takes next
    assert (
        f"Queued task {row.pk} (tokens.tasks.email_about_tokens) again: host:1 died running it."
        in caplog.text
    )
    assert abandoned_tasks_recover().requeued == 0  # idempotent


def test_a_task_of_a_worker_without_a_heartbeat_row_is_queued_again():
    row = claimed("gone:1")  # a stopped worker removes its row; one dead for a day is forgotten

    assert abandoned_tasks_recover().requeued == 1
    assert status_of(row) == "READY"


def test_a_task_of_a_worker_that_beats_is_left_running_however_long_it_takes():
    beats("host:1", seconds_ago=59)
    row = claimed("host:1", minutes_ago=60 * 24)

    assert abandoned_tasks_recover().requeued == 0
    assert status_of(row) == "RUNNING"


def test_a_task_claimed_recently_is_left_running_even_if_its_worker_is_silent():
    beats("host:1", seconds_ago=600)
    row = claimed("host:1", minutes_ago=4)  # under KEYWARD_TASK_REQUEUE_AFTER (5 minutes)

    assert abandoned_tasks_recover().requeued == 0
    assert status_of(row) == "RUNNING"
    # Five minutes later, it is.
    assert abandoned_tasks_recover(now=timezone.now() + timedelta(minutes=2)).requeued == 1


def test_only_the_last_claim_counts():
    beats("old:1", seconds_ago=3600)
    beats("host:2", seconds_ago=1)
    row = claimed("old:1", "host:2")  # requeued once already, now run by a live worker

    assert abandoned_tasks_recover().requeued == 0
    assert status_of(row) == "RUNNING"


def test_ready_and_finished_tasks_are_left_alone():
    ready = DBTaskResult.objects.get(pk=email_about_tokens.enqueue("token_created", []).id)
    done = claimed("gone:1")
    done.set_successful(0)

    assert abandoned_tasks_recover().requeued == 0
    assert status_of(ready) == "READY"
    assert status_of(done) == "SUCCESSFUL"


def test_a_task_that_killed_its_workers_max_claims_times_is_failed(caplog):
    workers = [f"gone:{n}" for n in range(MAX_CLAIMS)]
    row = claimed(*workers)

    with caplog.at_level(logging.ERROR):
        recovered = abandoned_tasks_recover()

    assert (recovered.requeued, recovered.failed) == (0, 1)
    assert status_of(row) == "FAILED"
    assert row.finished_at is not None
    assert row.task_result.errors[0].exception_class_path == "ops.abandoned_tasks.TaskAbandoned"
    assert ", ".join(workers) in row.traceback
    assert f"Failed task {row.pk}" in caplog.text


def test_the_command_says_what_it_did():
    claimed("gone:1")
    claimed(*[f"gone:{n}" for n in range(MAX_CLAIMS)])
    out = io.StringIO()

    call_command("requeue_abandoned_tasks", stdout=out)

    assert out.getvalue() == (
        "Queued 1 abandoned task(s) again.\n"
        f"Failed 1 task(s) whose workers died {MAX_CLAIMS} times running them; "
        "see Task Results in Django admin.\n"
    )
    out = io.StringIO()
    call_command("requeue_abandoned_tasks", stdout=out)
    assert out.getvalue() == "Queued 0 abandoned task(s) again.\n"
