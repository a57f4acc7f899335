"""Token emails: created, expiring soon (the send_expiry_reminders job), revoked as leaked."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from tests.conftest import make_member
from tests.factories import actor_of, issue
from tests.tokens.test_api import Api
from tokens import reminders, services
from tokens.models import ExpiryReminder, Token, TokenKind
from tokens.reminders import expiry_reminders_send

pytestmark = pytest.mark.django_db

LEAK = {"url": "https://github.com/acme/app/blob/main/.env", "source": "commit", "type": "kw"}


def in_days(days: float):
    return timezone.now() + timedelta(days=days)


def html_of(message) -> str:
    """Return the HTML alternative of an email, checking that it is the only one."""
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def activity_url(token: Token) -> str:
    path = reverse(
        "tokens:activity", kwargs={"slug": token.workspace.slug, "public_id": token.public_id}
    )
    return settings.KEYWARD_BASE_URL.rstrip("/") + path


def assert_secret_absent(message, secret: str) -> None:
    body = secret[4:]  # the value without its kww_/kwp_ prefix
    for part in (message.subject, message.body, html_of(message)):
        assert secret not in part
        assert body not in part


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Return a context manager that runs the on-commit callbacks (the emails) at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def remind(committed):
    """Run the reminder job as of `now` and send its emails."""

    def run(now) -> int:
        with committed():
            return expiry_reminders_send(now=now).reminded

    return run


def lived(token: Token, days: float) -> None:
    """Make `token` look created `days` before its expiry, as if issued long ago."""
    token.created_at = token.expires_at - timedelta(days=days)
    Token.objects.filter(pk=token.pk).update(created_at=token.created_at)


# Token created ------------------------------------------------------------------------


def test_creating_a_workspace_token_emails_its_creator(
    workspace, admin_user, manager_user, mailoutbox, committed
):
    with committed():
        token, secret = issue(manager_user, workspace, name="deploy-bot")

    [message] = mailoutbox
    assert message.to == ["manager@example.com"]  # creation is not sent to the Admins
    assert "deploy-bot" in message.subject
    assert "Acme" in message.subject
    for body in (message.body, html_of(message)):
        assert "deploy-bot" in body
        assert "Acme" in body
        assert activity_url(token) in body
        assert token.censored in body
    assert_secret_absent(message, secret)


def test_creating_a_personal_token_emails_its_owner(
    workspace, admin_user, member_user, mailoutbox, committed
):
    with committed():
        token, secret = issue(member_user, workspace, name="laptop", kind=TokenKind.PERSONAL)

    [message] = mailoutbox
    assert message.to == ["member@example.com"]
    assert "laptop" in message.subject
    assert activity_url(token) in message.body
    assert_secret_absent(message, secret)


def test_a_token_created_through_the_api_emails_the_owner_of_the_calling_token(
    workspace, admin_user, mailoutbox, committed
):
    _, caller = issue(
        admin_user,
        workspace,
        name="admin-cli",
        kind=TokenKind.PERSONAL,
        scopes=["tokens:read", "tokens:write"],
    )

    with committed():
        response = Api(caller).post(
            "/tokens", {"name": "from-api", "kind": "personal", "scopes": ["tokens:read"]}
        )

    assert response.status_code == 201
    secret = response.json()["token"]
    token = Token.objects.get(public_id=response.json()["id"])
    [message] = mailoutbox
    assert message.to == ["admin@example.com"]
    assert "from-api" in message.subject
    assert activity_url(token) in message.body
    assert_secret_absent(message, secret)
    assert_secret_absent(message, caller)


def test_a_token_created_by_a_workspace_token_emails_the_admins(
    workspace, admin_user, manager_user, mailoutbox, committed
):
    _, caller = issue(
        manager_user, workspace, name="automation", scopes=["tokens:read", "tokens:write"]
    )

    with committed():
        response = Api(caller).post("/tokens", {"name": "made-by-bot", "scopes": ["tokens:read"]})

    assert response.status_code == 201
    [message] = mailoutbox
    assert message.to == ["admin@example.com"]  # no person asked for it
    assert "made-by-bot" in message.subject
    assert_secret_absent(message, response.json()["token"])


def test_a_rolled_back_creation_sends_nothing(workspace, admin_user, mailoutbox, committed):
    with committed() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        issue(admin_user, workspace, name="undone")
        raise RuntimeError("something after the token failed")

    assert callbacks == []
    assert mailoutbox == []
    assert not Token.objects.filter(name="undone").exists()


# Expiring: thresholds ---------------------------------------------------------------


def test_the_7_day_reminder(workspace, admin_user, mailoutbox, remind):
    token, secret = issue(admin_user, workspace, name="nightly", expires_at=in_days(30))

    sent = remind(token.expires_at - timedelta(days=7) + timedelta(hours=1))

    assert sent == 1
    [message] = mailoutbox
    assert message.to == ["admin@example.com"]
    assert message.subject == "Token nightly expires in 7 days (Acme)"
    html = html_of(message)
    for body in (message.body, html):
        assert "nightly" in body
        assert "Acme" in body
        assert "in 7 days" in body
        assert token.expires_at.strftime("%b %-d, %Y") in body
    assert_secret_absent(message, secret)
    assert list(token.reminders.values_list("days", flat=True)) == [7]


def test_the_1_day_reminder_follows_the_7_day_one(workspace, admin_user, mailoutbox, remind):
    token, _ = issue(admin_user, workspace, name="nightly", expires_at=in_days(30))

    remind(token.expires_at - timedelta(days=6, hours=23))
    between = remind(token.expires_at - timedelta(days=3))
    last = remind(token.expires_at - timedelta(hours=23))

    assert (between, last) == (0, 1)
    assert [m.subject for m in mailoutbox] == [
        "Token nightly expires in 7 days (Acme)",
        "Token nightly expires in 1 day (Acme)",
    ]
    assert "in 1 day." in mailoutbox[1].body
    assert "in 1 day." in html_of(mailoutbox[1])


def test_nothing_is_due_before_the_window(workspace, admin_user, mailoutbox, remind):
    token, _ = issue(admin_user, workspace, expires_at=in_days(30))

    assert remind(token.expires_at - timedelta(days=7, minutes=1)) == 0
    assert mailoutbox == []
    assert not ExpiryReminder.objects.exists()


def test_only_the_most_urgent_reminder_when_several_are_due(
    workspace, admin_user, mailoutbox, remind
):
    token, _ = issue(admin_user, workspace, name="forgotten", expires_at=in_days(30))

    # The job did not run for a week: both the 7-day and the 1-day reminder are due.
    sent = remind(token.expires_at - timedelta(hours=12))
    later = remind(token.expires_at - timedelta(hours=1))

    assert (sent, later) == (1, 0)
    [message] = mailoutbox
    assert message.subject == "Token forgotten expires in 1 day (Acme)"
    assert sorted(token.reminders.values_list("days", flat=True)) == [1, 7]


def test_a_late_run_says_how_many_days_are_really_left(workspace, admin_user, mailoutbox, remind):
    token, _ = issue(admin_user, workspace, name="late", expires_at=in_days(30))

    remind(token.expires_at - timedelta(days=3, hours=1))

    [message] = mailoutbox
    assert message.subject == "Token late expires in 3 days (Acme)"
    assert list(token.reminders.values_list("days", flat=True)) == [7]


@pytest.mark.parametrize("lifetime_days", [7, 3])
def test_a_short_lived_token_skips_the_larger_threshold(
    workspace, admin_user, mailoutbox, remind, lifetime_days
):
    token, _ = issue(admin_user, workspace, name="brief", expires_at=in_days(lifetime_days))

    just_made = remind(token.created_at + timedelta(hours=1))
    day_before = remind(token.expires_at - timedelta(hours=23))

    assert (just_made, day_before) == (0, 1)
    [message] = mailoutbox
    assert message.subject == "Token brief expires in 1 day (Acme)"
    assert list(token.reminders.values_list("days", flat=True)) == [1]


def test_a_token_that_lived_just_over_the_threshold_gets_it(
    workspace, admin_user, mailoutbox, remind
):
    token, _ = issue(admin_user, workspace, expires_at=in_days(30))
    lived(token, days=7.5)

    assert remind(token.created_at + timedelta(hours=13)) == 1
    assert list(token.reminders.values_list("days", flat=True)) == [7]


# Expiring: recipients -----------------------------------------------------------------


def test_a_workspace_token_reminds_its_creator_and_the_admins(
    workspace, admin_user, manager_user, member_user, mailoutbox, remind
):
    second_admin = make_member(workspace, "admin2@example.com", Role.ADMIN)
    departed_admin = make_member(workspace, "gone@example.com", Role.ADMIN)
    departed_admin.is_active = False
    departed_admin.save(update_fields=["is_active"])
    token, _ = issue(manager_user, workspace, expires_at=in_days(30))

    remind(token.expires_at - timedelta(days=6))

    [message] = mailoutbox
    assert message.to == [second_admin.email, "admin@example.com", "manager@example.com"]
    assert departed_admin.email not in message.to


def test_an_admin_who_created_the_token_gets_one_copy(workspace, admin_user, mailoutbox, remind):
    token, _ = issue(admin_user, workspace, expires_at=in_days(30))

    remind(token.expires_at - timedelta(days=6))

    [message] = mailoutbox
    assert message.to == ["admin@example.com"]


def test_an_inactive_creator_is_left_out(workspace, admin_user, manager_user, mailoutbox, remind):
    token, _ = issue(manager_user, workspace, expires_at=in_days(30))
    User.objects.filter(pk=manager_user.pk).update(is_active=False)

    remind(token.expires_at - timedelta(days=6))

    [message] = mailoutbox
    assert message.to == ["admin@example.com"]


def test_a_personal_token_reminds_only_its_owner(
    workspace, admin_user, member_user, mailoutbox, remind
):
    token, _ = issue(member_user, workspace, kind=TokenKind.PERSONAL, expires_at=in_days(30))

    remind(token.expires_at - timedelta(days=6))

    [message] = mailoutbox
    assert message.to == ["member@example.com"]


def test_a_personal_token_of_an_inactive_owner_is_recorded_without_email(
    workspace, member_user, mailoutbox, remind
):
    token, _ = issue(member_user, workspace, kind=TokenKind.PERSONAL, expires_at=in_days(30))
    # A raw write: deactivating through the models would have revoked the token.
    QuerySet.update(User.objects.filter(pk=member_user.pk), is_active=False)

    remind(token.expires_at - timedelta(days=6))

    assert mailoutbox == []
    assert token.reminders.count() == 1


# Expiring: idempotence and exclusions -------------------------------------------------


def test_a_second_run_sends_nothing(
    workspace, admin_user, mailoutbox, remind, django_assert_num_queries
):
    token, _ = issue(admin_user, workspace, expires_at=in_days(30))
    now = token.expires_at - timedelta(days=6)

    assert remind(now) == 1
    with django_assert_num_queries(2):  # one read per threshold finds nothing left to send
        assert remind(now) == 0
    assert remind(now + timedelta(hours=1)) == 0
    assert len(mailoutbox) == 1
    assert token.reminders.count() == 1


def test_overlapping_runs_send_once(workspace, admin_user, mailoutbox, remind, monkeypatch):
    token, _ = issue(admin_user, workspace, expires_at=in_days(30))
    now = token.expires_at - timedelta(hours=12)
    # A second run that read the candidates before the first one recorded its reminders.
    stale = reminders._due_thresholds(now, [1, 7])

    assert remind(now) == 1
    monkeypatch.setattr(reminders, "_due_thresholds", lambda now, thresholds: stale)
    assert remind(now) == 0
    assert len(mailoutbox) == 1
    assert sorted(token.reminders.values_list("days", flat=True)) == [1, 7]


def test_the_command_sends_due_reminders_once(
    workspace, admin_user, manager_user, mailoutbox, committed
):
    token, _ = issue(manager_user, workspace, name="cron", expires_at=in_days(3))
    lived(token, days=30)
    issue(manager_user, workspace, name="later", expires_at=in_days(30))

    outputs = []
    for _ in range(2):
        out = io.StringIO()
        with committed():
            call_command("send_expiry_reminders", stdout=out)
        outputs.append(out.getvalue())

    assert outputs == ["Sent 1 expiry reminder(s).\n", "Sent 0 expiry reminder(s).\n"]
    [message] = mailoutbox
    assert message.subject == "Token cron expires in 3 days (Acme)"
    assert message.to == ["admin@example.com", "manager@example.com"]


def revoked_token(user, workspace):
    token, _ = issue(user, workspace, name="revoked", expires_at=in_days(10))
    services.token_revoke(actor=actor_of(user, workspace), token=token)
    return token, token.expires_at - timedelta(hours=12)


def expired_token(user, workspace):
    token, _ = issue(user, workspace, name="expired", expires_at=in_days(10))
    return token, token.expires_at + timedelta(minutes=1)


def never_expiring_token(user, workspace):
    token, _ = issue(user, workspace, name="forever", expires_at=None)
    return token, timezone.now() + timedelta(days=3650)


@pytest.mark.parametrize("make", [revoked_token, expired_token, never_expiring_token])
def test_inactive_and_never_expiring_tokens_get_nothing(
    workspace, admin_user, mailoutbox, remind, make
):
    _, now = make(admin_user, workspace)

    assert remind(now) == 0
    assert mailoutbox == []
    assert not ExpiryReminder.objects.exists()


def test_a_rotated_token_in_its_grace_period_gets_nothing(
    workspace, admin_user, mailoutbox, remind
):
    old, _ = issue(admin_user, workspace, name="rotating", expires_at=in_days(10))
    new, _ = services.token_rotate(actor=actor_of(admin_user, workspace), token=old, grace="7d")
    old.refresh_from_db()
    now = timezone.now() + timedelta(days=4)
    assert old.revoked_at > now  # still in its grace period, and expiring within 7 days
    assert old.expires_at < now + timedelta(days=7)

    remind(now)

    # Only its replacement, which inherits the 10-day lifetime, is reminded.
    assert not old.reminders.exists()
    assert list(new.reminders.values_list("days", flat=True)) == [7]
    [message] = mailoutbox
    assert new.censored in message.body
    assert old.censored not in message.body


def test_the_job_reads_tokens_in_one_query_per_threshold_and_one_per_batch(
    workspace, admin_user, member_user, mailoutbox, remind
):
    for name in ("a", "b", "c"):
        issue(admin_user, workspace, name=name, expires_at=in_days(30))
    issue(member_user, workspace, name="mine", kind=TokenKind.PERSONAL, expires_at=in_days(30))
    now = timezone.now() + timedelta(days=24)

    with CaptureQueriesContext(connection) as queries:
        assert remind(now) == 4
    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]

    # One per threshold, then the batch's task loads its 4 tokens with their workspaces at once
    # (as the worker does); rendering needs no more reads.
    assert len([s for s in selects if 'FROM "tokens_token"' in s]) == 2 + 1
    # One read of the Admins of the batch's workspaces, when the job picks the recipients; one
    # of the claims still waiting for their email, when the task starts.
    others = [s for s in selects if "tokens_token" not in s]
    assert len(others) == 2
    assert 'FROM "accounts_membership"' in others[0]
    assert 'FROM "tokens_expiryreminder"' in others[1]
    assert len(mailoutbox) == 4
    # Each reminder is marked emailed once its email went.
    assert ExpiryReminder.objects.filter(emailed_at=None).count() == 0


# Leaked -------------------------------------------------------------------------------


def test_a_leaked_workspace_token_emails_its_creator_and_the_admins(
    workspace, admin_user, manager_user, member_user, mailoutbox, committed
):
    token, secret = issue(manager_user, workspace, name="leaky")

    with committed():
        services.tokens_revoke_leaked([(secret, LEAK)])

    [message] = mailoutbox
    assert message.to == ["admin@example.com", "manager@example.com"]
    assert "leaky" in message.subject
    assert "Acme" in message.subject
    for body in (message.body, html_of(message)):
        assert "leaky" in body
        assert LEAK["url"] in body
        assert "commit" in body
        assert activity_url(token) in body  # check the activity
        assert "Check that the token was not misused" in body
        assert "Replace it where it was used" in body
        assert "Fix the process that published it" in body
    assert_secret_absent(message, secret)


def test_a_leaked_personal_token_emails_its_owner_and_the_admins_once(
    workspace, admin_user, member_user, mailoutbox, committed
):
    _, secret = issue(member_user, workspace, name="mine", kind=TokenKind.PERSONAL)

    with committed():
        services.tokens_revoke_leaked([(secret, LEAK)])
    with committed():
        services.tokens_revoke_leaked([(secret, LEAK)])  # reported again: already revoked

    [message] = mailoutbox
    assert message.to == ["admin@example.com", "member@example.com"]
    assert_secret_absent(message, secret)
