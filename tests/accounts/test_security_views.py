"""Account → Security: set up the authenticator, recovery codes, removal, sudo with a code."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.core import mail
from django.urls import reverse

from accounts import sudo
from accounts.models import AuditEvent, RecoveryCode, TotpDevice
from accounts.signin import factors
from tests.accounts.otp import enrol_totp, key_from_text, totp
from tests.conftest import PASSWORD
from tests.factories import signed_in, stamp_sudo

SECURITY = reverse("accounts:security")
SETUP = reverse("accounts:security_totp_setup")
REMOVE = reverse("accounts:security_totp_remove")
REGENERATE = reverse("accounts:security_recovery_codes_regenerate")


@pytest.fixture
def client(member_user):
    return signed_in(member_user)


def _shown_codes(response) -> list[str]:
    return re.findall(r"<li><code>([a-z2-9-]{14})</code></li>", response.content.decode())


def test_the_user_menu_links_the_security_page(client):
    page = client.get(SECURITY).content.decode()
    assert f'<a role="menuitem" href="{SECURITY}">Security</a>' in page
    assert "Two-factor authentication" in page and "Off" in page
    assert f'href="{reverse("accounts:password_change")}"' in page
    assert f'href="{SETUP}"' in page


def test_the_security_page_links_the_passkeys_page_and_back(client):
    passkeys = reverse("accounts:passkey_list")
    assert f'href="{passkeys}">Manage passkeys</a>' in client.get(SECURITY).content.decode()
    assert f'<a href="{SECURITY}">Account security</a>' in client.get(passkeys).content.decode()


def test_the_security_pages_need_a_signed_in_user(db):
    from django.test import Client

    for url in (SECURITY, SETUP, REMOVE, REGENERATE):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_set_up_shows_a_qr_code_and_the_key_then_a_code_turns_it_on(
    client, member_user, django_capture_on_commit_callbacks
):
    stamp_sudo(client)
    page = client.get(SETUP)
    content = page.content.decode()
    assert "no-store" in page["Cache-Control"]
    svg = re.search(r"<svg.*?</svg>", content, re.S).group(0)
    assert "<title>QR code for your authenticator app</title>" in svg
    assert "style=" not in svg and "<script" not in svg  # the CSP allows neither
    key_text = unescape(re.search(r'<code class="totp-key"[^>]*>([A-Z2-7 ]+)</code>', content)[1])
    key = key_from_text(key_text)
    assert client.get(SETUP).content.decode().count(key_text) == 1  # a reload: the same key
    assert not TotpDevice.objects.exists()

    wrong = client.post(SETUP, {"code": totp(key, steps_off=4)})
    assert "That code is not right" in wrong.content.decode()
    assert not TotpDevice.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SETUP, {"code": totp(key)})
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    codes = _shown_codes(response)
    assert len(codes) == 10
    content = response.content.decode()
    assert 'download="keyward-recovery-codes.txt"' in content
    assert "They are shown only now." in content
    assert factors.has_two_factor(member_user)
    assert mail.outbox[-1].subject.startswith("Keyward: an authenticator app was added")
    assert factors.recovery_code_use(member_user, codes[0])

    page = client.get(SECURITY).content.decode()
    assert "On" in page and "9 of 10 left." in page
    # A second set-up is refused until the first is removed.
    response = client.get(SETUP, follow=True)
    assert "Remove it first" in response.content.decode()


def test_regenerating_codes_asks_for_the_password_or_a_code_first(client, member_user):
    key, old = enrol_totp(member_user)
    page = client.get(REGENERATE).content.decode()
    assert "Your password" in page and "Or a code from your authenticator app" in page
    refused = client.post(REGENERATE, {"password": "wrong"})
    assert "This is not your password." in refused.content.decode()
    assert factors.recovery_code_use(member_user, old[0])  # nothing changed
    response = client.post(REGENERATE, {"code": totp(key, steps_off=1)})
    new = _shown_codes(response)
    assert len(new) == 10 and "Your old codes no longer work." in response.content.decode()
    assert not factors.recovery_code_use(member_user, old[1])
    confirmed = AuditEvent.objects.get(action="sudo.confirmed")
    assert confirmed.details == {"method": "totp"}
    # Within sudo mode, no second prompt.
    again = client.post(REGENERATE, {})
    assert len(_shown_codes(again)) == 10


def test_removing_the_last_factor_asks_for_the_password_and_a_current_code(
    client, member_user, django_capture_on_commit_callbacks
):
    key, codes = enrol_totp(member_user)
    page = client.get(REMOVE).content.decode()
    assert "Your password" in page and "A code from the app, or a recovery code" in page
    assert "This is your only second factor" in page

    no_code = client.post(REMOVE, {"password": PASSWORD})
    assert no_code.status_code == 200 and factors.has_two_factor(member_user)
    wrong_code = client.post(REMOVE, {"password": PASSWORD, "code": "000000"})
    assert "That code is not right" in wrong_code.content.decode()
    wrong_password = client.post(REMOVE, {"password": "nope", "code": totp(key, steps_off=1)})
    assert "This is not your password." in wrong_password.content.decode()
    assert factors.has_two_factor(member_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(REMOVE, {"password": PASSWORD, "code": codes[0]})
    assert response.status_code == 302 and response["Location"] == SECURITY
    assert not factors.has_two_factor(member_user)
    assert not RecoveryCode.objects.exists()
    assert mail.outbox[-1].subject.startswith("Keyward: an authenticator app was removed")
    assert AuditEvent.objects.filter(action="factor.removed", actor_user=member_user).exists()


def test_removing_with_a_code_from_the_app(client, member_user):
    key, _ = enrol_totp(member_user)
    response = client.post(REMOVE, {"password": PASSWORD, "code": totp(key, steps_off=1)})
    assert response.status_code == 302 and not TotpDevice.objects.exists()


# Sudo mode with an authenticator code ----------------------------------------------------


def test_the_sudo_prompt_offers_a_code_only_to_users_with_an_app(rf, member_user, admin_user):
    enrol_totp(member_user)
    with_app, without = rf.post("/"), rf.post("/")
    with_app.user, without.user = member_user, admin_user
    assert "code" in sudo.SudoForm(request=with_app).fields
    assert "code" not in sudo.SudoForm(request=without).fields


def test_an_authenticator_code_confirms_sudo_mode_once(rf, member_user):
    key, _ = enrol_totp(member_user)
    code = totp(key, steps_off=1)
    request = rf.post("/")
    request.user, request.session = member_user, {}
    form = sudo.SudoForm({"code": code}, request=request)
    assert form.is_valid()
    form.confirm()
    assert sudo.is_active(request)
    replay = sudo.SudoForm({"code": code}, request=request)
    assert not replay.is_valid()
    assert replay.errors["code"] == ["That code is not right, or it was used already."]
    empty = sudo.SudoForm({"password": "", "code": ""}, request=request)
    assert not empty.is_valid() and empty.errors["password"] == ["Enter your password."]


def test_without_an_app_the_password_is_required_and_said_once(rf, admin_user):
    request = rf.post("/")
    request.user, request.session = admin_user, {}
    form = sudo.SudoForm({"password": ""}, request=request)
    assert form.fields["password"].required and form.title == "Confirm your password"
    assert not form.is_valid() and form.errors["password"] == ["Enter your password."]
