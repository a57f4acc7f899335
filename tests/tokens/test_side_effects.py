"""Side effects never lose a stored change: emails run after commit and their failure is
logged, and batch jobs go on past one bad item, failing only once the batch is done."""

from __future__ import annotations

import io
import logging
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts import services as account_services
from accounts.emails import Email, send_each
from accounts.models import Invitation, User, Workspace
from accounts.roles import Role
from accounts.side_effects import SideEffectsFailed
from tests.factories import issue, signed_in
from tests.mail_backends import COUNTING, FAILING, ConnectionCountingEmailBackend
from tests.tokens.test_api import ALL_SCOPES, Api
from tokens import reminders, services
from tokens.models import ExpiryReminder, Token
from tokens.secrets import digest
from tokens.tasks import email_expiry_reminder

# Bad data a row may hold from before names were checked, or from a direct database edit.
SECRET = re.compile(r"kww_[A-Za-z0-9_]+")
BAD_ADDRESS = "admin@example.com\nbcc: everyone@example.com"


def create_data(name: str) -> dict:
    return {
        "name": name,
        "description": "",
        "kind": "workspace",
        "preset": "read",
        "expiration": "30",
        "expires_on": "",
        "allowed_ips": "",
    }


def expiring(user: User, workspace: Workspace, name: str) -> Token:
    """Issue a token that expires in 3 days after living 30, so a reminder is due now."""
    token, _ = issue(user, workspace, name=name, expires_at=timezone.now() + timedelta(days=3))
    Token.objects.filter(pk=token.pk).update(created_at=token.expires_at - timedelta(days=30))
    return token


def assert_logged_without(caplog, secret: str, expected: str) -> None:
    assert expected in caplog.text
    assert secret not in caplog.text
    assert secret[4:] not in caplog.text


# A failing mail server after the token is stored --------------------------------------


@pytest.mark.django_db(transaction=True)
def test_console_creation_shows_the_secret_when_the_email_fails(
    settings, workspace, admin_user, mailoutbox, caplog
):
    settings.MAILERS = FAILING

    with caplog.at_level(logging.ERROR):
        response = signed_in(admin_user).post(
            reverse("tokens:create", args=["acme"]), create_data("deploy-bot")
        )

    assert response.status_code == 200
    token = Token.objects.get(name="deploy-bot")
    [secret] = {v for v in SECRET.findall(response.content.decode()) if digest(v) == token.digest}
    assert_logged_without(
        caplog, secret, f"Could not send the token_created email about token {token.public_id}"
    )


@pytest.mark.django_db(transaction=True)
def test_api_creation_returns_the_secret_when_the_email_fails(
    settings, workspace, admin_user, caplog
):
    api = Api(issue(admin_user, workspace, name="automation", scopes=ALL_SCOPES)[1])
    settings.MAILERS = FAILING

    with caplog.at_level(logging.ERROR):
        response = api.post("/tokens", {"name": "made-by-api", "scopes": ["tokens:read"]})

    assert response.status_code == 201, response.content
    secret = response.json()["token"]
    token = Token.objects.get(name="made-by-api")
    assert token.last_four == secret[-4:]
    assert_logged_without(caplog, secret, "SMTPException: 451 the mail server is down")


@pytest.mark.django_db(transaction=True)
def test_an_invitation_is_kept_when_its_email_fails(settings, workspace, admin_user, caplog):
    settings.MAILERS = FAILING

    with caplog.at_level(logging.ERROR):
        invitation = account_services.invitation_create(
            workspace=workspace, actor=admin_user, email="new@example.com", role=Role.MEMBER
        )

    assert Invitation.objects.get() == invitation
    assert f"Could not email invitation {invitation.pk}" in caplog.text
    assert invitation.key not in caplog.text


# Batch jobs --------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_workspace_name_with_a_carriage_return_stops_no_reminder(
    workspace, other_workspace, admin_user, outsider, mailoutbox
):
    Workspace.objects.filter(pk=workspace.pk).update(name="Acme\rCorp")  # stored before the rule
    expiring(admin_user, workspace, "nightly")
    expiring(outsider, other_workspace, "weekly")
    mailoutbox.clear()  # the "token created" emails
    out = io.StringIO()

    call_command("send_expiry_reminders", stdout=out)

    assert out.getvalue() == "Sent 2 expiry reminder(s).\n"
    assert sorted(m.subject for m in mailoutbox) == [
        "Token nightly expires in 3 days (Acme Corp)",
        "Token weekly expires in 3 days (Globex)",
    ]


@pytest.mark.django_db(transaction=True)
def test_one_bad_address_fails_the_reminder_job_only_after_the_others_are_sent(
    workspace, other_workspace, admin_user, outsider, mailoutbox, caplog
):
    bad = expiring(admin_user, workspace, "nightly")
    expiring(outsider, other_workspace, "weekly")
    User.objects.filter(pk=admin_user.pk).update(email=BAD_ADDRESS)
    mailoutbox.clear()  # the "token created" emails
    out = io.StringIO()

    with caplog.at_level(logging.ERROR), pytest.raises(CommandError, match=bad.public_id):
        call_command("send_expiry_reminders", stdout=out)

    assert out.getvalue() == "Sent 1 expiry reminder(s).\n"
    [message] = mailoutbox
    assert message.subject == "Token weekly expires in 3 days (Globex)"
    assert f"Could not send the token_expiring email about token {bad.public_id}" in caplog.text
    # Not recorded as sent: once the address is fixed, the next run reminds.
    assert not ExpiryReminder.objects.filter(token=bad).exists()
    User.objects.filter(pk=admin_user.pk).update(email="admin@example.com")
    call_command("send_expiry_reminders", stdout=io.StringIO())
    assert [m.subject for m in mailoutbox][-1] == "Token nightly expires in 3 days (Acme)"


@pytest.mark.django_db
def test_one_bad_address_does_not_stop_the_other_leak_emails(
    workspace,
    other_workspace,
    admin_user,
    outsider,
    mailoutbox,
    caplog,
    django_capture_on_commit_callbacks,
):
    _, first = issue(admin_user, workspace, name="leaked-a")
    _, second = issue(outsider, other_workspace, name="leaked-b")
    User.objects.filter(pk=admin_user.pk).update(email=BAD_ADDRESS)
    found = {"url": "https://github.com/acme/app", "source": "commit", "type": "kw"}

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        services.tokens_revoke_leaked([(first, found), (second, found)])

    [message] = mailoutbox
    assert message.to == ["outsider@example.com"]
    assert "Could not send the token_leaked email" in caplog.text
    assert Token.objects.filter(revoke_reason="leak").count() == 2


@pytest.fixture
def counted_connections(settings, monkeypatch) -> type[ConnectionCountingEmailBackend]:
    """Send email through a backend that counts the connections it opens, from 0."""
    settings.MAILERS = COUNTING
    monkeypatch.setattr(ConnectionCountingEmailBackend, "opened", 0)
    return ConnectionCountingEmailBackend


@pytest.mark.django_db
def test_a_leak_report_sends_its_100_emails_through_one_connection(
    workspace, admin_user, mailoutbox, counted_connections, django_capture_on_commit_callbacks
):
    values = [issue(admin_user, workspace, name=f"leaked-{n}")[1] for n in range(100)]
    found = {"url": "https://github.com/acme/app", "source": "commit", "type": "kw"}

    with django_capture_on_commit_callbacks(execute=True):
        services.tokens_revoke_leaked([(value, found) for value in values])

    assert len(mailoutbox) == 100
    assert counted_connections.opened == 1


@pytest.mark.django_db
def test_the_reminder_job_sends_one_task_per_batch_each_on_one_connection(
    workspace,
    admin_user,
    mailoutbox,
    counted_connections,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    for name in ("a", "b", "c"):
        expiring(admin_user, workspace, name)
    mailoutbox.clear()  # the "token created" emails
    counted_connections.opened = 0
    monkeypatch.setattr(reminders, "BATCH_SIZE", 2)
    out = io.StringIO()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_expiry_reminders", stdout=out)

    assert out.getvalue() == "Sent 3 expiry reminder(s).\n"
    # One email per token, from two tasks (2 + 1 tokens), one connection (one SMTP login) each.
    assert sorted(m.subject for m in mailoutbox) == [
        f"Token {name} expires in 3 days (Acme)" for name in ("a", "b", "c")
    ]
    assert counted_connections.opened == 2


@pytest.mark.django_db
def test_a_reminder_task_run_again_sends_only_what_it_had_not_sent(
    settings, workspace, other_workspace, admin_user, outsider, mailoutbox
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    expiring(admin_user, workspace, "nightly")
    expiring(outsider, other_workspace, "weekly")
    DBTaskResult.objects.all().delete()
    mailoutbox.clear()
    call_command("send_expiry_reminders", stdout=io.StringIO())
    [row] = DBTaskResult.objects.all()
    assert ExpiryReminder.objects.filter(emailed_at=None).count() == 2  # queued, not sent

    # Run by a worker, then again (as after the worker was killed before it could say so).
    assert row.task.call(*row.task_result.args) == 2
    assert row.task.call(*row.task_result.args) == 0

    assert sorted(m.subject for m in mailoutbox) == [
        "Token nightly expires in 3 days (Acme)",
        "Token weekly expires in 3 days (Globex)",
    ]
    assert not ExpiryReminder.objects.filter(emailed_at=None).exists()


@pytest.mark.django_db
def test_a_reminder_queued_one_per_token_before_an_upgrade_is_still_sent_once(
    workspace, admin_user, mailoutbox
):
    token = expiring(admin_user, workspace, "nightly")
    ExpiryReminder.objects.create(token=token, days=7)  # claimed by the job before the upgrade
    mailoutbox.clear()
    queued_before = email_expiry_reminder  # the task path such rows name

    assert queued_before.call(token.pk, ["admin@example.com"], 3, 7) == 1
    assert queued_before.call(token.pk, ["admin@example.com"], 3, 7) == 0

    [message] = mailoutbox
    assert message.subject == "Token nightly expires in 3 days (Acme)"


def test_after_a_refused_email_the_next_ones_go_on_a_new_connection(
    mailoutbox, counted_connections, caplog
):
    def reset_email(to: str) -> Email:
        context = {"email": to, "reset_url": "https://keyward.example.com/reset/"}
        return Email(f"email {to.splitlines()[0]}", [to], "password_reset", context)

    emails = [reset_email("a@example.com"), reset_email(BAD_ADDRESS), reset_email("c@example.com")]

    with caplog.at_level(logging.ERROR), pytest.raises(SideEffectsFailed):
        send_each(emails)

    assert [m.to for m in mailoutbox] == [["a@example.com"], ["c@example.com"]]
    assert counted_connections.opened == 2  # one before the refused email, one after it
    assert "Could not email admin@example.com" in caplog.text


# Tasks queued in the database ----------------------------------------------------------


def test_a_task_queued_in_the_database_commits_with_its_change_or_not_at_all(
    settings, workspace, admin_user
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    with pytest.raises(RuntimeError), transaction.atomic():
        issue(admin_user, workspace, name="rolled-back")
        assert DBTaskResult.objects.count() == 1  # written with the token, invisible to workers
        raise RuntimeError("the request failed after the token was made")

    assert not Token.objects.exists()
    assert not DBTaskResult.objects.exists()
    issue(admin_user, workspace, name="kept")
    assert DBTaskResult.objects.get().status == "READY"
