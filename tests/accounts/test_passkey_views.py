"""Passkeys through the console: the page, adding, renaming, removing (sudo mode), passwordless
sign-in and sudo mode with a passkey; every refusal a JSON error with a stable code."""

from __future__ import annotations

import html
import json
import re

import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts import sudo
from accounts.models import AuditEvent, Passkey
from accounts.signin import passkeys
from tests.authenticator import SoftAuthenticator
from tests.conftest import PASSWORD
from tests.factories import (
    HTMX,
    add_passkey,
    confirm_with,
    issue,
    post_json,
    signed_in,
    stamp_sudo,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webauthn_testserver")]


def sign_in_with(client: Client, authenticator: SoftAuthenticator, next_url="", **spoil):
    options = client.post(reverse("accounts:passkey_login_options")).json()
    answer = authenticator.get(options, **spoil)
    return post_json(client, "accounts:passkey_login", {"credential": answer, "next": next_url})


@pytest.fixture
def admin_client(admin_user) -> Client:
    return signed_in(admin_user)


@pytest.fixture
def sudo_client(admin_client) -> Client:
    """The admin in sudo mode, as when the Add a passkey dialog asked who it is."""
    return stamp_sudo(admin_client)


@pytest.fixture
def admins_key(admin_client) -> SoftAuthenticator:
    return add_passkey(admin_client)


def test_the_page_lists_only_the_users_own_passkeys(admin_client, admins_key, member_user):
    add_passkey(signed_in(member_user), name="Member's phone")
    page = admin_client.get(reverse("accounts:passkey_list")).content.decode()
    assert "Laptop" in page
    assert "Member&#x27;s phone" not in page and "Member's phone" not in page
    assert "Never" in page  # not used yet


def test_adding_a_passkey(admin_client, admin_user, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        add_passkey(admin_client, name="  Work laptop ")
    passkey = Passkey.objects.get()
    assert (passkey.user, passkey.name) == (admin_user, "Work laptop")
    assert AuditEvent.objects.filter(action="factor.passkey_added").count() == 1
    assert len(mailoutbox) == 1
    page = admin_client.get(reverse("accounts:passkey_list")).content.decode()
    assert "Passkey “Work laptop” added" in page


@pytest.mark.parametrize("name", ["", "   ", "a\nb", "x" * 101])
def test_a_bad_name_is_refused_before_the_ceremony(sudo_client, name):
    response = sudo_client.post(reverse("accounts:passkey_add_options"), {"name": name})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_name"
    assert response.json()["field"] == "name"


@pytest.mark.parametrize(
    ("spoil", "error"),
    [
        ({"origin": "http://evil.example"}, "invalid"),
        ({"rp_id": "evil.example"}, "invalid"),
    ],
)
def test_registration_refusals(sudo_client, spoil, error):
    options = sudo_client.post(reverse("accounts:passkey_add_options"), {"name": "x"}).json()
    answer = SoftAuthenticator().create(options, **spoil)
    response = post_json(sudo_client, "accounts:passkey_add", {"name": "x", "credential": answer})
    assert (response.status_code, response.json()["error"]) == (400, error)
    assert not Passkey.objects.exists()


def test_a_replayed_registration_is_refused(sudo_client):
    options = sudo_client.post(reverse("accounts:passkey_add_options"), {"name": "x"}).json()
    answer = SoftAuthenticator().create(options)
    body = {"name": "x", "credential": answer}
    assert post_json(sudo_client, "accounts:passkey_add", body).status_code == 200
    response = post_json(sudo_client, "accounts:passkey_add", body)
    assert (response.status_code, response.json()["error"]) == (400, "no_challenge")
    assert Passkey.objects.count() == 1


def test_another_users_registration_challenge_does_not_count(sudo_client, member_user):
    """The challenge lives in the admin's session: the member's browser has none."""
    options = sudo_client.post(reverse("accounts:passkey_add_options"), {"name": "x"}).json()
    answer = SoftAuthenticator().create(options)
    response = post_json(
        stamp_sudo(signed_in(member_user)),
        "accounts:passkey_add",
        {"name": "x", "credential": answer},
    )
    assert (response.status_code, response.json()["error"]) == (400, "no_challenge")


@pytest.mark.parametrize("body", [b"", b"not json", b"[1]", b'{"credential": 5}'])
def test_unreadable_bodies_are_json_errors(sudo_client, body):
    for name in ("accounts:passkey_add", "accounts:passkey_login", "accounts:passkey_sudo"):
        response = sudo_client.post(reverse(name), body, content_type="application/json")
        assert response.status_code == 400, name
        assert response.json()["error"] in ("bad_request", "no_challenge", "invalid_name")


def test_renaming(admin_client, admins_key):
    passkey = Passkey.objects.get()
    url = reverse("accounts:passkey_rename", args=[passkey.pk])
    assert "Rename passkey" in admin_client.get(url, **HTMX).content.decode()
    response = admin_client.post(url, {"name": "YubiKey 5C"}, **HTMX)
    assert response.status_code == 200
    passkey.refresh_from_db()
    assert passkey.name == "YubiKey 5C"
    assert AuditEvent.objects.filter(action="factor.passkey_renamed").count() == 1
    response = admin_client.post(url, {"name": ""}, **HTMX)
    assert "Give the passkey a name" in response.content.decode()


def test_another_users_passkey_is_not_found(admin_client, member_user):
    add_passkey(signed_in(member_user))
    passkey = Passkey.objects.get()
    for name in ("accounts:passkey_rename", "accounts:passkey_remove"):
        url = reverse(name, args=[passkey.pk])
        assert admin_client.get(url).status_code == 404
        assert admin_client.post(url, {"name": "x", "password": PASSWORD}).status_code == 404
    passkey.refresh_from_db()
    assert passkey.name == "Laptop"


def test_removing_asks_who_it_is_first(
    admin_client, admins_key, mailoutbox, django_capture_on_commit_callbacks
):
    add_passkey(admin_client, name="Phone")  # not the last factor: sudo mode is enough
    passkey = Passkey.objects.get(name="Laptop")
    url = reverse("accounts:passkey_remove", args=[passkey.pk])
    dialog = admin_client.get(url, **HTMX).content.decode()
    assert 'name="password"' in dialog
    assert "Use a passkey instead" in dialog
    # Without a password, or with a wrong one, nothing happens.
    assert 'name="password"' in admin_client.post(url, **HTMX).content.decode()
    wrong = admin_client.post(url, {"password": "nope"}, **HTMX).content.decode()
    assert "This is not your password." in wrong
    assert Passkey.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"password": PASSWORD}, **HTMX)
    assert response.status_code == 200
    assert list(Passkey.objects.values_list("name", flat=True)) == ["Phone"]
    assert AuditEvent.objects.filter(action="factor.passkey_removed").count() == 1
    assert "was removed" in mailoutbox[-1].body


def test_removing_in_sudo_mode_asks_nothing(admin_client, admins_key):
    add_passkey(admin_client, name="Phone")
    passkey = Passkey.objects.get(name="Laptop")
    stamp_sudo(admin_client)
    url = reverse("accounts:passkey_remove", args=[passkey.pk])
    assert 'name="password"' not in admin_client.get(url, **HTMX).content.decode()
    assert admin_client.post(url, **HTMX).status_code == 200
    assert list(Passkey.objects.values_list("name", flat=True)) == ["Phone"]


# Passwordless sign-in.


def test_signing_in_with_a_passkey(admins_key, admin_user):
    browser = Client()
    browser.post(reverse("accounts:passkey_login_options"))
    before = browser.session.session_key
    options = browser.post(reverse("accounts:passkey_login_options")).json()
    answer = admins_key.get(options)
    body = {"credential": answer, "next": "/w/acme/"}
    response = post_json(browser, "accounts:passkey_login", body)
    assert response.json() == {"redirect": "/w/acme/"}
    assert browser.session["_auth_user_id"] == str(admin_user.pk)
    assert browser.session.session_key != before  # rotated
    event = AuditEvent.objects.get(action="signin.passkey")
    assert event.actor_user == admin_user
    assert browser.get(reverse("accounts:passkey_list")).status_code == 200
    assert Passkey.objects.get().last_used_at is not None


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/", "javascript:x"])
def test_an_unsafe_next_goes_home(admins_key, next_url):
    response = sign_in_with(Client(), admins_key, next_url)
    assert response.json() == {"redirect": reverse(django_settings.LOGIN_REDIRECT_URL)}


def refused_sign_in(browser: Client, response, error: str) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["error"] == error
    assert response.json()["message"]
    assert "_auth_user_id" not in browser.session


def test_sign_in_refusals(admins_key, member_user):
    """Wrong origin, wrong challenge, unknown credential, replay, sign count going back."""
    browser = Client()
    refused_sign_in(browser, sign_in_with(browser, admins_key, origin="http://evil"), "invalid")
    # An answer to a challenge this browser was never given.
    answer = admins_key.get({"challenge": "c2lnbmVkLWJ5LWFub3RoZXI"})
    browser.post(reverse("accounts:passkey_login_options"))
    refused_sign_in(
        browser, post_json(browser, "accounts:passkey_login", {"credential": answer}), "invalid"
    )
    refused_sign_in(browser, sign_in_with(browser, SoftAuthenticator()), "unknown_credential")
    # Replay: the same answer again, after it signed in once.
    other = Client()
    options = other.post(reverse("accounts:passkey_login_options")).json()
    answer = admins_key.get(options)
    assert post_json(other, "accounts:passkey_login", {"credential": answer}).status_code == 200
    third = Client()
    third.post(reverse("accounts:passkey_login_options"))
    refused_sign_in(
        third, post_json(third, "accounts:passkey_login", {"credential": answer}), "invalid"
    )
    # No challenge at all in this browser's session.
    refused_sign_in(
        Client(),
        post_json(Client(), "accounts:passkey_login", {"credential": answer}),
        "no_challenge",
    )
    # A clone: its counter repeats one already seen.
    clone = Client()
    refused_sign_in(clone, sign_in_with(clone, admins_key, sign_count=1), "sign_count")
    failures = AuditEvent.objects.filter(action="signin.passkey_failed").count()
    assert failures == 6


def test_sign_in_failures_are_limited_per_ip(admins_key, settings):
    settings.KEYWARD_LOGIN_FAILURES_PER_IP = 2
    browser = Client()
    stranger = SoftAuthenticator()
    for _ in range(2):
        refused_sign_in(browser, sign_in_with(browser, stranger), "unknown_credential")
    response = sign_in_with(browser, admins_key)
    assert (response.status_code, response.json()["error"]) == (429, "rate_limited")
    assert "_auth_user_id" not in browser.session


def test_the_login_page_offers_passkeys():
    page = Client().get(reverse("accounts:login") + "?next=/w/acme/").content.decode()
    assert 'autocomplete="username webauthn"' in page
    assert "Sign in with a passkey" in page
    assert 'data-next="/w/acme/"' in page
    assert "js/passkeys.js" in page


def suggestions_of(page) -> tuple[dict, str]:
    """Return the options and the ticket the login page brings for the email field."""
    text = page.content.decode()
    options = json.loads(html.unescape(re.search(r'data-suggestions="([^"]*)"', text)[1]))
    return options, re.search(r'data-ticket="([^"]*)"', text)[1]


def test_the_login_page_brings_the_suggestions_options_with_it(admins_key, admin_user):
    """The email field's suggestions sign in with the page's own options and ticket: no
    request for them, and no session for a visitor who only looks at the page."""
    browser = Client()
    sessions = Session.objects.count()
    page = browser.get(reverse("accounts:login"))
    assert django_settings.SESSION_COOKIE_NAME not in page.cookies
    assert Session.objects.count() == sessions
    options, ticket = suggestions_of(page)
    assert options["allowCredentials"] == []  # any passkey this browser holds for the site
    body = {"credential": admins_key.get(options), "ticket": ticket}
    response = post_json(browser, "accounts:passkey_login", body)
    assert response.status_code == 200, response.content
    assert browser.session["_auth_user_id"] == str(admin_user.pk)


def test_a_suggestion_ticket_signs_in_once(admins_key):
    options, ticket = suggestions_of(Client().get(reverse("accounts:login")))
    answer = admins_key.get(options)
    assert post_json(Client(), "accounts:passkey_login", {"credential": answer, "ticket": ticket})
    again = Client()
    response = post_json(again, "accounts:passkey_login", {"credential": answer, "ticket": ticket})
    refused_sign_in(again, response, "no_challenge")


@pytest.mark.parametrize("spoil", ["forged", "stale", "not a string", "another page's"])
def test_a_bad_suggestion_ticket_is_refused(admins_key, monkeypatch, spoil):
    options, ticket = suggestions_of(Client().get(reverse("accounts:login")))
    _, other = suggestions_of(Client().get(reverse("accounts:login")))
    ticket = {
        "forged": ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BB"),
        "stale": ticket,
        "not a string": ["x"],
        "another page's": other,  # signed, but for another challenge
    }[spoil]
    if spoil == "stale":
        monkeypatch.setattr(passkeys, "CHALLENGE_SECONDS", -1)
    browser = Client()
    body = {"credential": admins_key.get(options), "ticket": ticket}
    refused_sign_in(
        browser,
        post_json(browser, "accounts:passkey_login", body),
        *(("invalid",) if spoil == "another page's" else ("no_challenge",)),
    )


# Sudo mode with a passkey.


def test_a_passkey_starts_sudo_mode(admin_client, admins_key):
    assert confirm_with(admin_client, admins_key).json() == {"confirmed": True}
    assert sudo.SESSION_KEY in admin_client.session
    event = AuditEvent.objects.get(action="sudo.confirmed")
    assert event.details == {"method": "passkey"}


def test_sudo_refuses_another_users_passkey(admin_client, admins_key, member_user):
    member = signed_in(member_user)
    add_passkey(member, name="Member's")
    response = confirm_with(member, admins_key)
    assert (response.status_code, response.json()["error"]) == (400, "wrong_user")
    assert sudo.SESSION_KEY not in member.session


def test_sudo_options_without_a_passkey(member_user):
    response = signed_in(member_user).post(reverse("accounts:passkey_sudo_options"))
    assert (response.status_code, response.json()["error"]) == (400, "no_passkey")


def test_reveal_after_a_passkey_confirmation(
    retrievable, workspace, admin_client, admin_user, admins_key
):
    token, secret = issue(admin_user, workspace, "ci-deploy")
    url = reverse("tokens:reveal", kwargs={"slug": workspace.slug, "public_id": token.public_id})
    prompt = admin_client.post(url, {"purpose": "reveal"}, **HTMX).content.decode()
    assert "Use a passkey instead" in prompt
    assert secret not in prompt
    confirm_with(admin_client, admins_key)
    assert secret in admin_client.post(url, {"purpose": "reveal"}, **HTMX).content.decode()


# A passkey as the second factor after the password ------------------------------------------

TWO_FACTOR = reverse("accounts:security_two_factor")


def _password_step(client: Client, user, next_url="/w/acme/"):
    response = client.post(
        reverse("accounts:login"), {"username": user.email, "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(TWO_FACTOR)
    return response["Location"]


def _second_step(client: Client, authenticator: SoftAuthenticator, next_url="/w/acme/"):
    options = post_json(client, "accounts:passkey_two_factor_options", {}).json()
    answer = authenticator.get(options)
    return post_json(
        client, "accounts:passkey_two_factor", {"credential": answer, "next": next_url}
    )


def test_a_passkey_makes_the_password_ask_for_a_second_step(admin_user, admins_key):
    from accounts.signin import factors

    assert factors.has_two_factor(admin_user)
    assert factors.methods(admin_user) == ["passkey", "recovery_code"]
    client = Client()
    step = _password_step(client, admin_user)
    assert "_auth_user_id" not in client.session
    page = client.get(step).content.decode()
    assert "Use your passkey" in page and 'autocomplete="one-time-code"' not in page

    response = _second_step(client, admins_key)
    assert response.status_code == 200 and response.json() == {"redirect": "/w/acme/"}
    assert client.session["_auth_user_id"] == str(admin_user.pk)
    event = AuditEvent.objects.get(action="signin.two_factor")
    assert event.details == {"method": "passkey"}


def test_another_users_passkey_cannot_finish_the_second_step(admin_user, admins_key, member_user):
    member_key = add_passkey(signed_in(member_user), name="Member's key")
    client = Client()
    _password_step(client, admin_user)
    response = _second_step(client, member_key)
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_the_passkey_step_needs_a_right_password_first(admins_key):
    client = Client()
    response = post_json(client, "accounts:passkey_two_factor_options", {})
    assert response.status_code == 400 and response.json()["error"] == "no_pending_sign_in"
    response = post_json(client, "accounts:passkey_two_factor", {"credential": {}})
    assert response.status_code == 400 and response.json()["error"] == "no_pending_sign_in"


def test_a_user_with_a_passkey_and_an_app_may_choose_either(admin_user, admins_key):
    from tests.accounts.otp import enrol_totp

    enrol_totp(admin_user)
    client = Client()
    step = _password_step(client, admin_user)
    page = client.get(step).content.decode()
    assert "Use your passkey" in page and "Use your authenticator app" in page
    page = client.get(step + "&method=totp").content.decode()
    assert 'autocomplete="one-time-code"' in page and "Use your passkey" in page
