"""The task worker: `manage.py run_worker` as a real child process running the tasks queued in
the database (one test per task kind), its heartbeat, and what happens while it is down."""

from __future__ import annotations

import io
import json
import re
import signal
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import services as account_services
from accounts.models import User
from accounts.roles import Role
from ops.models import WorkerHeartbeat
from ops.worker import Heartbeat, last_heartbeat, worker_is_alive, worker_needed
from tests.factories import issue
from tests.mail_backends import messages_in
from tests.servers import (
    STARTUP_SECONDS,
    Server,
    database_for_children,
    production_env,
    running,
    start_worker,
    wait_until,
)
from tests.tokens.test_side_effects import BAD_ADDRESS, expiring
from tokens import services
from tokens.models import ExpiryReminder

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@dataclass
class Queue:
    """Tasks queued in a database that a worker child process can reach; its mail folder."""

    workdir: Path
    env: dict[str, str]
    mail: Path

    def start_worker(self) -> Server:
        """Start `manage.py run_worker`; return once it has recorded its first heartbeat."""
        return start_worker(self.workdir, self.env, ready=WorkerHeartbeat.objects.exists)

    def wait_for_mail(self, count: int, worker: Server) -> list:
        """Return the emails the worker wrote, once there are `count` of them."""
        wait_until(
            lambda: len(messages_in(self.mail)) >= count,
            what="the worker's emails",
            process=worker.process,
            log=worker.log,
        )
        return messages_in(self.mail)


@pytest.fixture
def queue(transactional_db, settings, tmp_path) -> Queue:
    """Queue tasks in the database (KEYWARD_TASKS=database), shared with child processes."""
    settings.TASKS = DATABASE_TASKS
    mail = tmp_path / "mail"
    mail.mkdir()
    with database_for_children(tmp_path) as url:
        env = production_env(url, mail, KEYWARD_WORKER_HEARTBEAT_SECONDS="1")
        yield Queue(tmp_path, env, mail)


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def queued() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.order_by("enqueued_at"))


def assert_done(rows: list[DBTaskResult]) -> None:
    for row in rows:
        row.refresh_from_db()
        assert row.status == "SUCCESSFUL", row.traceback


# Worker down, then back: the token created email --------------------------------------


def test_emails_wait_in_the_queue_while_the_worker_is_down_and_go_when_it_returns(
    queue, workspace, admin_user
):
    token, secret = issue(admin_user, workspace, name="deploy-bot")

    [row] = queued()
    assert row.status == "READY"
    assert row.task_path == "tokens.tasks.email_about_tokens"
    assert secret[4:] not in json.dumps(row.args_kwargs)  # ids and addresses only
    assert messages_in(queue.mail) == []  # nobody runs it: it waits

    with running(queue.start_worker()) as worker:
        [message] = queue.wait_for_mail(1, worker)

    assert message["To"] == "admin@example.com"
    assert message["Subject"] == "A token was created in Acme: deploy-bot"
    assert token.censored in text_of(message)
    assert secret[4:] not in message.as_string()
    assert_done([row])


# The leak report: one task for all its emails ------------------------------------------


def test_the_worker_sends_every_email_of_a_leak_report_from_one_task(
    queue, workspace, admin_user, manager_user
):
    _, first_secret = issue(manager_user, workspace, name="leaked-a")
    _, second_secret = issue(manager_user, workspace, name="leaked-b")
    DBTaskResult.objects.all().delete()  # the "created" emails
    found = {"url": "https://github.com/acme/app", "source": "commit", "type": "kw"}

    services.tokens_revoke_leaked([(first_secret, found), (second_secret, found)])

    [row] = queued()
    assert row.task_path == "tokens.tasks.email_about_tokens"
    assert first_secret[4:] not in json.dumps(row.args_kwargs)
    with running(queue.start_worker()) as worker:
        messages = queue.wait_for_mail(2, worker)
    assert sorted((m["To"], m["Subject"]) for m in messages) == [
        (
            "admin@example.com, manager@example.com",
            f"Token {name} was found in public and revoked (Acme)",
        )
        for name in ("leaked-a", "leaked-b")
    ]
    assert_done([row])


# The expiry reminders job ---------------------------------------------------------------


def test_the_worker_sends_the_reminders_the_job_queued(
    queue, workspace, other_workspace, admin_user, outsider
):
    token = expiring(admin_user, workspace, "nightly")
    expiring(outsider, other_workspace, "weekly")
    DBTaskResult.objects.all().delete()
    out = io.StringIO()

    call_command("send_expiry_reminders", stdout=out)

    assert out.getvalue() == "Sent 2 expiry reminder(s).\n"  # queued, claimed
    [row] = queued()  # one task for the batch: one connection to the mail server
    assert row.task_path == "tokens.tasks.email_expiry_reminders"
    with running(queue.start_worker()) as worker:
        messages = queue.wait_for_mail(2, worker)
    assert sorted(m["Subject"] for m in messages) == [
        "Token nightly expires in 3 days (Acme)",
        "Token weekly expires in 3 days (Globex)",
    ]
    assert_done([row])
    assert ExpiryReminder.objects.filter(token=token).exists()


def test_a_reminder_the_worker_cannot_send_is_released_for_the_next_run(
    queue, workspace, other_workspace, admin_user, outsider
):
    bad = expiring(admin_user, workspace, "nightly")
    good = expiring(outsider, other_workspace, "weekly")
    User.objects.filter(pk=admin_user.pk).update(email=BAD_ADDRESS)
    DBTaskResult.objects.all().delete()

    # Queued: the job cannot know the email will fail, so it reports success.
    call_command("send_expiry_reminders", stdout=io.StringIO())

    [row] = queued()
    with running(queue.start_worker()) as worker:
        wait_until(lambda: DBTaskResult.objects.get(pk=row.pk).status == "FAILED", what="failed")
    # The other email of the same task went; only the failed one is released.
    [message] = messages_in(queue.mail)
    assert message["Subject"] == "Token weekly expires in 3 days (Globex)"
    assert not ExpiryReminder.objects.filter(token=bad).exists()
    assert ExpiryReminder.objects.filter(token=good).exists()
    assert "Could not send the token_expiring email about token" in worker.output()


# A worker killed in the middle of a task --------------------------------------------------


@pytest.fixture
def gate(queue) -> Iterator[socket.socket]:
    """Make the workers' emails wait at a loopback socket the test holds
    (tests.mail_backends.GatedFileEmailBackend), and a worker silent for 2 s count as dead."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(STARTUP_SECONDS)
        queue.env.update(
            EMAIL_BACKEND="tests.mail_backends.GatedFileEmailBackend",
            KEYWARD_TEST_MAIL_GATE=str(listener.getsockname()[1]),
            KEYWARD_WORKER_HEARTBEAT_MAX_AGE="2",
            KEYWARD_TASK_REQUEUE_AFTER="0",
        )
        yield listener


def let_through(gate: socket.socket) -> None:
    """Wait for a worker to be about to write an email, and let it."""
    sender, _ = gate.accept()
    with sender:
        sender.sendall(b"go")


def test_a_task_whose_worker_is_killed_mid_task_is_run_again_by_the_next_worker(
    queue, gate, workspace, admin_user
):
    issue(admin_user, workspace, name="deploy-bot")
    [row] = queued()

    with running(queue.start_worker()) as first:
        held, _ = gate.accept()  # the first worker is sending the task's email
        first.stop(signal.SIGKILL)  # as the kernel's OOM killer would
        held.close()
    row.refresh_from_db()
    # django-tasks-db leaves it claimed by the dead worker: no worker of its own takes it.
    assert row.status == "RUNNING"
    assert row.worker_ids == [f"{socket.gethostname()}:{first.process.pid}"]

    with running(queue.start_worker()) as second:
        let_through(gate)  # queued again by the second worker, which runs it
        [message] = queue.wait_for_mail(1, second)

    assert message["Subject"] == "A token was created in Acme: deploy-bot"
    assert_done([row])
    assert row.worker_ids[1] == f"{socket.gethostname()}:{second.process.pid}"
    assert f"Queued task {row.pk} (tokens.tasks.email_about_tokens) again" in second.output()


def test_a_reminder_batch_cut_short_by_a_killed_worker_sends_each_reminder_once(
    queue, gate, workspace, other_workspace, admin_user, outsider
):
    expiring(admin_user, workspace, "nightly")
    expiring(outsider, other_workspace, "weekly")
    DBTaskResult.objects.all().delete()
    call_command("send_expiry_reminders", stdout=io.StringIO())
    [row] = queued()  # both reminders, in one task

    with running(queue.start_worker()) as first:
        let_through(gate)  # the first reminder goes
        held, _ = gate.accept()  # the worker is sending the second
        first.stop(signal.SIGKILL)
        held.close()
    assert len(messages_in(queue.mail)) == 1
    assert ExpiryReminder.objects.filter(emailed_at=None).count() == 1

    with running(queue.start_worker()) as second:
        let_through(gate)  # run again, it sends only the reminder the first worker had not
        wait_until(
            lambda: DBTaskResult.objects.get(pk=row.pk).status == "SUCCESSFUL",
            what="the task run again",
            process=second.process,
            log=second.log,
        )

    assert sorted(m["Subject"] for m in messages_in(queue.mail)) == [
        "Token nightly expires in 3 days (Acme)",
        "Token weekly expires in 3 days (Globex)",
    ]
    assert not ExpiryReminder.objects.filter(emailed_at=None).exists()


# Invitations and password resets: links made by the worker --------------------------------


def test_the_worker_sends_an_invitation_with_a_link_it_makes(queue, workspace, admin_user, client):
    invitation = account_services.invitation_create(
        workspace=workspace, actor=admin_user, email="new@example.com", role=Role.MEMBER
    )

    [row] = queued()
    assert row.task_path == "accounts.tasks.email_invitation"
    assert row.args_kwargs["args"][0] == invitation.pk
    with running(queue.start_worker()) as worker:
        [message] = queue.wait_for_mail(1, worker)
    assert message["To"] == "new@example.com"
    link = re.search(r"https?://\S+/invitations/\S+/", text_of(message)).group(0)
    assert link.split("/")[-2] not in json.dumps(row.args_kwargs)
    assert client.get(urlsplit(link).path).status_code == 200
    assert_done([row])


def test_the_worker_sends_a_password_reset_link_that_works(queue, admin_user, client):
    response = client.post(reverse("accounts:password_reset"), {"email": "admin@example.com"})
    assert response.status_code == 302

    [row] = queued()
    assert row.task_path == "accounts.tasks.email_password_reset"
    assert row.args_kwargs["args"] == [admin_user.pk, "http://testserver"]  # no reset token
    with running(queue.start_worker()) as worker:
        [message] = queue.wait_for_mail(1, worker)
    assert message["Subject"] == "Reset your Keyward password"
    link = re.search(r"https?://\S+/accounts/password/reset/\S+/", text_of(message)).group(0)
    assert client.get(urlsplit(link).path, follow=True).status_code == 200
    assert "new_password1" in client.get(urlsplit(link).path, follow=True).content.decode()
    assert_done([row])


# The heartbeat ----------------------------------------------------------------------------


def test_the_worker_beats_while_idle_and_removes_its_heartbeat_when_stopped(queue):
    worker = queue.start_worker()
    with running(worker):
        [first] = WorkerHeartbeat.objects.all()
        assert worker_is_alive()
        wait_until(
            lambda: WorkerHeartbeat.objects.get(pk=first.pk).seen_at > first.seen_at,
            what="a second heartbeat",
            process=worker.process,
            log=worker.log,
        )
        worker.stop()  # SIGTERM, as systemd stops it

    assert worker.process.returncode == 0, worker.output()
    assert not WorkerHeartbeat.objects.exists()
    assert last_heartbeat() is None
    assert not worker_is_alive()


@pytest.mark.django_db
def test_a_worker_is_alive_only_while_its_last_beat_is_recent(settings):
    settings.KEYWARD_WORKER_HEARTBEAT_MAX_AGE = 30
    now = timezone.now()
    assert not worker_is_alive(now)  # no worker ever ran

    WorkerHeartbeat.objects.create(worker="old:1", seen_at=now - timedelta(seconds=31))
    assert last_heartbeat() == now - timedelta(seconds=31)
    assert not worker_is_alive(now)

    WorkerHeartbeat.objects.create(worker="host:2", seen_at=now - timedelta(seconds=29))
    assert worker_is_alive(now)


def test_a_worker_is_needed_only_when_tasks_are_queued_in_the_database(settings):
    assert not worker_needed()  # inline, as in make run and the tests
    settings.TASKS = DATABASE_TASKS
    assert worker_needed()


@pytest.mark.django_db
def test_a_starting_worker_forgets_workers_dead_for_a_day():
    long_ago = timezone.now() - timedelta(days=2)
    WorkerHeartbeat.objects.create(worker="crashed:1", seen_at=long_ago)
    heartbeat = Heartbeat("host:2", interval=60)

    heartbeat.start()
    try:
        assert list(WorkerHeartbeat.objects.values_list("worker", flat=True)) == ["host:2"]
    finally:
        heartbeat.stop()
    assert not WorkerHeartbeat.objects.exists()
