"""Security emails: each kind is queued in the database as the one task and sent by a worker.

The worker is django_tasks_db's (`db_worker --batch`), run in the test's
process on the test's database: the task's arguments are what a real worker
reads back from the queue, so they are checked for secrets too. Its loop
closes "old" connections between tasks, as Django does between requests; in a
test that would close the connection holding the test's transaction, so that
one call is switched off, as Django's test client does for requests.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_tasks_db.management.commands import db_worker
from django_tasks_db.models import DBTaskResult

from accounts.signin import factors
from tests.accounts.otp import enrol_totp, key_from_text, totp
from tests.conftest import PASSWORD
from tests.factories import signed_in

TASK = "accounts.tasks.email_security_event"
IP, AGENT = "203.0.113.7", "Firefox/140.0"
NEW_PASSWORD = "another long passphrase 93"


@pytest.fixture(autouse=True)
def database_tasks(settings, monkeypatch):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)


def a_request(user):
    """Return a request from the user's browser, as the console's views pass to the services."""
    request = RequestFactory().post("/", REMOTE_ADDR=IP, HTTP_USER_AGENT=AGENT)
    request.user = user
    return request


def sent_by_the_worker(*secrets: str):
    """Run the worker over the queue; return the one email it sent, after checking the queue.

    The queued task is the one security task, its arguments hold none of `secrets`.
    """
    mail.outbox.clear()
    [row] = DBTaskResult.objects.all()
    assert (row.task_path, row.status) == (TASK, "READY")
    assert mail.outbox == []  # nothing is sent before the worker runs it
    queued = json.dumps(row.args_kwargs)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    row.refresh_from_db()
    assert row.status == "SUCCESSFUL", row.traceback
    [message] = mail.outbox
    for secret in secrets:
        assert secret not in queued
        assert secret not in message.body and secret not in message.alternatives[0].content
    return message


def assert_says_where_from(message) -> None:
    assert f"From: {IP}" in message.body and f"Browser: {AGENT}" in message.body
    assert "When: " in message.body
    html = message.alternatives[0].content
    assert IP in html and AGENT in html
    assert 'href="http://testserver/account/security/"' in html
    assert "http://testserver/account/security/" in message.body
    assert "If it was not" in message.body


def test_a_new_authenticator_app(member_user):
    sealed = factors.totp_setup_start(user=member_user)
    key_text = factors.totp_setup_details(user=member_user, sealed_key=sealed)["key_text"]
    codes = factors.totp_setup_confirm(
        user=member_user,
        sealed_key=sealed,
        code=totp(key_from_text(key_text)),
        request=a_request(member_user),
    )
    DBTaskResult.objects.exclude(args_kwargs__args__1="factor_added").delete()

    message = sent_by_the_worker(key_text.replace(" ", ""), sealed, *codes)

    assert message.to == [member_user.email]
    assert message.subject == "Keyward: an authenticator app was added to your account"
    assert message.body.startswith(
        "An authenticator app was added to the Keyward account member@example.com."
    )
    assert_says_where_from(message)


def test_a_removed_authenticator_app(member_user):
    enrol_totp(member_user)
    DBTaskResult.objects.all().delete()
    factors.totp_remove(user=member_user, request=a_request(member_user))

    message = sent_by_the_worker()

    assert message.subject == "Keyward: an authenticator app was removed from your account"
    assert_says_where_from(message)


def test_new_recovery_codes(member_user):
    enrol_totp(member_user)
    DBTaskResult.objects.all().delete()
    codes = factors.recovery_codes_regenerate(user=member_user, request=a_request(member_user))

    message = sent_by_the_worker(*codes)

    assert message.subject == "Keyward: new recovery codes were made; the old ones no longer work"
    assert_says_where_from(message)


def test_a_sign_in_from_a_new_browser(member_user):
    Client().post(
        reverse("accounts:login"),
        {"username": member_user.email, "password": PASSWORD},
        REMOTE_ADDR=IP,
        HTTP_USER_AGENT=AGENT,
    )

    message = sent_by_the_worker(PASSWORD)

    assert message.subject == "Keyward: your account signed in from a new browser"
    assert_says_where_from(message)


def test_a_changed_password(member_user):
    response = signed_in(member_user).post(
        reverse("accounts:password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        REMOTE_ADDR=IP,
        HTTP_USER_AGENT=AGENT,
    )
    assert response.status_code == 302

    message = sent_by_the_worker(PASSWORD, NEW_PASSWORD)

    assert message.subject == "Keyward: your password was changed"
    assert message.body.startswith("The password of the Keyward account member@example.com")
    assert_says_where_from(message)


def test_an_operator_turning_off_two_factor(member_user, operator):
    enrol_totp(member_user)
    DBTaskResult.objects.all().delete()
    request = RequestFactory().post("/admin/", REMOTE_ADDR="198.51.100.1", HTTP_USER_AGENT="Op/1")
    factors.two_factor_reset(user=member_user, actor=operator, request=request)

    message = sent_by_the_worker()

    assert message.to == [member_user.email]
    assert message.subject == (
        "Keyward: an operator turned off two-factor authentication for your account"
    )
    assert "By: a Keyward operator" in message.body
    # The operator's own address and browser are not the user's business.
    assert "198.51.100.1" not in message.body and "Op/1" not in message.body
    assert "tell your Keyward operator" in message.body


# Every door that changes a password emails, inline after commit (the default backend).


@pytest.fixture
def inline_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


def test_a_password_set_from_a_reset_link_is_emailed(
    inline_tasks, member_user, django_capture_on_commit_callbacks
):
    client = Client()
    uid = urlsafe_base64_encode(force_bytes(member_user.pk))
    token = default_token_generator.make_token(member_user)
    form = client.get(
        reverse("accounts:password_reset_confirm", args=[uid, token]), follow=True
    ).redirect_chain[-1][0]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(form, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.subject == "Keyward: your password was changed"
    assert NEW_PASSWORD not in message.body


def test_an_operators_own_password_change_in_the_admin_is_emailed(
    inline_tasks, operator, django_capture_on_commit_callbacks
):
    client = signed_in(operator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/password_change/",
            {
                "old_password": PASSWORD,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
    assert response.status_code == 302
    [message] = mail.outbox
    assert message.to == [operator.email]
    assert message.subject == "Keyward: your password was changed"


def test_a_refused_password_change_is_not_emailed(
    inline_tasks, member_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(member_user).post(
            reverse("accounts:password_change"),
            {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
    assert response.status_code == 200
    assert mail.outbox == []
