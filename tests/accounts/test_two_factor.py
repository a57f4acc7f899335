"""The code step of sign-in, console and admin, with codes computed by the test (RFC 6238)."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.models import AuditEvent, User
from accounts.signin import browsers, factors, pending
from tests.accounts.otp import enrol_totp, totp
from tests.conftest import PASSWORD

STEP = reverse("accounts:security_two_factor")


def _login(client, email, password=PASSWORD, *, url=None, next_url=None, ip="10.0.0.1"):
    data = {"username": email, "password": password}
    if next_url is not None:
        data["next"] = next_url
    return client.post(url or reverse("accounts:login"), data, REMOTE_ADDR=ip)


def _code(client, code, *, method="totp", next_url=None, ip="10.0.0.1"):
    data = {"code": code, "method": method}
    if next_url is not None:
        data["next"] = next_url
    return client.post(STEP, data, REMOTE_ADDR=ip)


def _signed_in(client) -> bool:
    return SESSION_KEY in client.session


@pytest.fixture
def enrolled(member_user):
    """Return (user, key, recovery codes) of a Member with an authenticator app."""
    key, codes = enrol_totp(member_user)
    return member_user, key, codes


def test_a_user_without_a_factor_signs_in_with_the_password(client, member_user):
    response = _login(client, member_user.email)
    assert response.status_code == 302 and response["Location"] == "/"
    assert _signed_in(client)


def test_the_password_alone_does_not_sign_in_a_user_with_a_factor(client, enrolled):
    user, key, _ = enrolled
    response = _login(client, user.email, next_url="/w/acme/")
    assert response.status_code == 302
    assert response["Location"] == f"{STEP}?next=%2Fw%2Facme%2F"
    assert not _signed_in(client)
    page = client.get(response["Location"])
    assert page.status_code == 200
    content = page.content.decode()
    assert "Two-factor authentication" in content
    assert 'autocomplete="one-time-code"' in content
    assert "Use a recovery code" in content

    response = _code(client, totp(key, steps_off=1), next_url="/w/acme/")
    assert response.status_code == 302 and response["Location"] == "/w/acme/"
    assert _signed_in(client) and client.session[SESSION_KEY] == str(user.pk)
    assert pending.SESSION_KEY not in client.session
    event = AuditEvent.objects.get(action="signin.two_factor")
    assert event.actor_user == user and event.details == {"method": "totp"}


def test_the_session_key_changes_after_the_password_and_after_the_code(client, enrolled):
    user, key, _ = enrolled
    client.get(reverse("accounts:login"))
    client.session.save()
    planted = client.session.session_key
    _login(client, user.email)
    before = client.session.session_key
    assert before != planted
    _code(client, totp(key, steps_off=1))
    assert _signed_in(client) and client.session.session_key != before


def test_a_wrong_code_says_so_and_signs_nobody_in(client, enrolled):
    user, key, _ = enrolled
    _login(client, user.email)
    response = _code(client, "123456" if totp(key, steps_off=1) != "123456" else "654321")
    assert response.status_code == 200
    assert "That code is not right, or it was used already." in response.content.decode()
    assert not _signed_in(client)
    assert AuditEvent.objects.filter(action="signin.two_factor_failed", actor_user=user).exists()


def test_a_used_code_is_refused_at_the_next_sign_in(client, enrolled, django_user_model):
    user, key, _ = enrolled
    code = totp(key, steps_off=1)
    _login(client, user.email)
    _code(client, code)
    assert _signed_in(client)
    client.logout()
    _login(client, user.email)
    response = _code(client, code)
    assert not _signed_in(client)
    assert "used already" in response.content.decode()


def test_a_recovery_code_signs_in_once(client, enrolled):
    user, _, codes = enrolled
    _login(client, user.email)
    page = client.get(f"{STEP}?method=recovery_code")
    assert "Recovery code" in page.content.decode()
    assert "Use your authenticator app" in page.content.decode()
    response = _code(client, codes[3].upper(), method="recovery_code")
    assert response.status_code == 302 and _signed_in(client)
    assert AuditEvent.objects.get(action="signin.two_factor").details == {"method": "recovery_code"}
    client.logout()
    _login(client, user.email)
    response = _code(client, codes[3], method="recovery_code")
    assert not _signed_in(client)


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"]
)
def test_next_is_still_checked_at_the_code_step(client, enrolled, next_url):
    user, key, _ = enrolled
    _login(client, user.email)  # the login view already dropped a foreign next
    response = _code(client, totp(key, steps_off=1), next_url=next_url)
    assert response["Location"] == "/"
    assert _signed_in(client)


def test_the_code_step_without_a_password_first_sends_to_sign_in(client, enrolled):
    response = client.get(STEP)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    _, key, _ = enrolled
    assert _code(client, totp(key, steps_off=1)).status_code == 302
    assert not _signed_in(client)


def test_the_code_step_expires(client, enrolled, monkeypatch):
    user, key, _ = enrolled
    _login(client, user.email)
    later = time.time() + pending.PENDING_SECONDS + 1
    monkeypatch.setattr("accounts.signin.pending.time.time", lambda: later)
    response = _code(client, totp(key, later, steps_off=0))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not _signed_in(client)
    assert pending.SESSION_KEY not in client.session


def test_a_password_changed_meanwhile_ends_the_pending_sign_in(client, enrolled):
    user, key, _ = enrolled
    _login(client, user.email)
    fresh = User.objects.get(pk=user.pk)
    fresh.set_password("another-long-password-42")
    fresh.save()
    _code(client, totp(key, steps_off=1))
    assert not _signed_in(client)


def test_wrong_codes_count_per_account_and_then_even_the_right_one_is_refused(
    client, enrolled, settings, monkeypatch
):
    user, key, _ = enrolled
    _login(client, user.email)
    for n in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT):
        _code(client, "000000", ip=f"10.0.1.{n}")  # another address each time: per account
    right = totp(key, steps_off=1)
    response = _code(client, right)
    assert not _signed_in(client)
    assert "Too many failed attempts. Wait a few minutes" in response.content.decode()
    # The password form refuses too: one count for every way in.
    assert "Too many failed sign-in attempts" in _login(client, user.email).content.decode()

    later = time.time() + settings.KEYWARD_LOGIN_FAILURE_WINDOW_SECONDS + 1
    monkeypatch.setattr("accounts.ratelimit.time.time", lambda: later)
    assert _login(client, user.email).status_code == 302
    response = _code(client, totp(key, later))
    assert response.status_code == 302 and _signed_in(client)


# The Django admin's login --------------------------------------------------------------


def test_the_admin_login_asks_staff_with_a_factor_for_a_code(client, operator):
    key, _ = enrol_totp(operator)
    page = client.get(reverse("admin:login"))
    assert page.status_code == 200 and "Keyward operations" in page.content.decode()
    response = _login(client, operator.email, url=reverse("admin:login"), next_url="/admin/")
    assert response["Location"] == f"{STEP}?next=%2Fadmin%2F"
    assert not _signed_in(client)
    assert client.get("/admin/").status_code == 302  # not in yet
    response = _code(client, totp(key, steps_off=1), next_url="/admin/")
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_the_admin_login_without_a_factor_is_unchanged(client, operator):
    response = _login(client, operator.email, url=reverse("admin:login"), next_url="/admin/")
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_wrong_admin_codes_count_under_the_same_limit(client, operator, settings):
    enrol_totp(operator)
    _login(client, operator.email, url=reverse("admin:login"))
    for _ in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT):
        _code(client, "000000")
    response = _login(client, operator.email, url=reverse("admin:login"))
    assert response.status_code == 200 and not _signed_in(client)


# KEYWARD_ADMIN_REQUIRE_TWO_FACTOR ---------------------------------------------------------


def test_staff_without_a_factor_are_sent_to_set_one_up_when_required(operator, settings):
    from tests.factories import signed_in

    client = signed_in(operator)
    assert client.get("/admin/").status_code == 200  # off by default
    settings.KEYWARD_ADMIN_REQUIRE_TWO_FACTOR = True
    for path in ("/admin/", "/admin/accounts/user/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == "/account/security/"
    page = client.get("/account/security/").content.decode()
    assert "Set up two-factor authentication to use the operator admin." in page
    assert client.get("/admin/login/").status_code == 302  # signed in: on to /admin/
    signed_out = client.post("/admin/logout/")  # signing out stays open
    assert signed_out["Location"] != "/account/security/" and SESSION_KEY not in client.session

    enrol_totp(operator)
    assert signed_in(operator).get("/admin/").status_code == 200


def test_the_admin_requirement_leaves_the_console_alone(member_user, settings):
    from tests.factories import signed_in

    settings.KEYWARD_ADMIN_REQUIRE_TWO_FACTOR = True
    client = signed_in(member_user)
    assert client.get("/account/security/").status_code == 200
    assert client.get("/admin/").status_code == 302  # not staff: the admin's own refusal
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


# Sign-in from a new browser -----------------------------------------------------------


def _sign_out(client) -> None:
    """Sign out as a browser does (Client.logout would drop every cookie)."""
    client.post(reverse("accounts:logout"))
    assert not _signed_in(client)


def _new_browser_emails(mailoutbox):
    return [m for m in mailoutbox if "new browser" in m.subject]


def test_a_sign_in_from_a_new_browser_is_emailed_once_per_browser(
    client, member_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("accounts:login"),
            {"username": member_user.email, "password": PASSWORD},
            REMOTE_ADDR="203.0.113.9",
            HTTP_USER_AGENT="Firefox/133.0",
        )
    [email] = _new_browser_emails(mailoutbox)
    assert email.to == [member_user.email]
    assert email.subject == "Keyward: your account signed in from a new browser"
    assert "From: 203.0.113.9" in email.body and "Browser: Firefox/133.0" in email.body
    event = AuditEvent.objects.get(action="signin.new_browser")
    assert event.actor_user == member_user and event.ip == "203.0.113.9"
    assert browsers.COOKIE in client.cookies

    _sign_out(client)  # the mark outlives the session
    with django_capture_on_commit_callbacks(execute=True):
        _login(client, member_user.email)
    assert len(_new_browser_emails(mailoutbox)) == 1


def test_a_forged_or_other_accounts_mark_is_not_known(
    client, member_user, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _login(client, admin_user.email)  # this browser knows the Admin, not the Member
    _sign_out(client)
    with django_capture_on_commit_callbacks(execute=True):
        _login(client, member_user.email)
    assert len(_new_browser_emails(mailoutbox)) == 2
    _sign_out(client)
    client.cookies[browsers.COOKIE] = "[" + str(member_user.pk) + "]"  # unsigned
    with django_capture_on_commit_callbacks(execute=True):
        _login(client, admin_user.email)
    assert len(_new_browser_emails(mailoutbox)) == 3


def test_the_code_step_notes_a_new_browser_too(
    client, enrolled, mailoutbox, django_capture_on_commit_callbacks
):
    user, key, _ = enrolled
    _login(client, user.email)
    assert not _new_browser_emails(mailoutbox)  # the password alone is no sign-in
    with django_capture_on_commit_callbacks(execute=True):
        _code(client, totp(key, steps_off=1))
    assert len(_new_browser_emails(mailoutbox)) == 1


def test_the_browser_that_signed_up_is_known(
    client, db, mailoutbox, django_capture_on_commit_callbacks
):
    client.post(
        reverse("accounts:signup"),
        {
            "full_name": "Grace",
            "email": "grace@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "workspace_name": "Navy",
        },
    )
    _sign_out(client)
    with django_capture_on_commit_callbacks(execute=True):
        _login(client, "grace@example.com")
    assert _signed_in(client)
    assert not _new_browser_emails(mailoutbox)


# Operators -----------------------------------------------------------------------------


def test_an_operator_turns_off_two_factor_for_a_user_who_lost_everything(
    operator_client, member_user, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    enrol_totp(member_user)
    listing = operator_client.get("/admin/accounts/user/").content.decode()
    assert "Two-factor" in listing
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            "/admin/accounts/user/",
            {
                "action": "turn_off_two_factor",
                "_selected_action": [member_user.pk, admin_user.pk],
            },
            follow=True,
        )
    assert "Turned off two-factor authentication for 1 user(s); 1 had none." in (
        response.content.decode()
    )
    assert factors.methods(member_user) == []
    event = AuditEvent.objects.get(action="factor.reset")
    assert event.actor_user.is_staff and event.target_id == str(member_user.pk)
    assert event.details == {"methods": ["totp", "recovery_code"]}
    assert mailoutbox[-1].to == [member_user.email]
    assert "operator turned off two-factor" in mailoutbox[-1].subject
    # The password alone signs in again.
    client = Client()
    assert _login(client, member_user.email).status_code == 302 and _signed_in(client)
