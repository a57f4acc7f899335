"""One sudo prompt everywhere (accounts.sudo.prompt): what it offers, where it is asked, what
removing the last factor takes, recovery codes with a first passkey, and the SSO round trip
that confirms an account without a password."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import SESSION_KEY as USER_SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts import sudo
from accounts.models import AuditEvent, Passkey, RecoveryCode, TwoFactorPolicy
from accounts.signin import factors
from tests.accounts.otp import enrol_totp
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
from tests.oidc_provider import sign_in_through
from tokens.models import WorkspacePolicy

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("webauthn_testserver")]

POLICIES = reverse("tokens:policies", kwargs={"slug": "acme"})
SSO_SETTINGS = reverse("accounts:sso_settings", kwargs={"slug": "acme"})
PASSKEYS = reverse("accounts:passkey_list")
ADD_PASSKEY = reverse("accounts:passkey_add")
TOTP_SETUP = reverse("accounts:security_totp_setup")
TOTP_REMOVE = reverse("accounts:security_totp_remove")
REGENERATE = reverse("accounts:security_recovery_codes_regenerate")
NEW_CODES = reverse("accounts:security_recovery_codes_new")
CONFIRM_WITH_SSO = reverse("accounts:sso_reauth")


def policy_data(**changes) -> dict:
    data = {
        "max_lifetime_days": "",
        "allow_never_expiring": "on",
        "members_may_create_personal": "on",
        "reveal_policy": "show_once",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def confirmations() -> list[str]:
    events = AuditEvent.objects.filter(action="sudo.confirmed").order_by("pk")
    return [event.details["method"] for event in events]


def lifetime(workspace) -> int | None:
    return WorkspacePolicy.objects.get(workspace=workspace).max_lifetime_days


@pytest.fixture
def admin_client(admin_user) -> Client:
    return signed_in(admin_user)


def shown_codes(response) -> list[str]:
    return re.findall(r"<li><code>([a-z2-9-]{14})</code></li>", response.content.decode())


# The same prompt on every page and dialog ---------------------------------------------------


def _prompts(client: Client, workspace, admin_user) -> dict[str, str]:
    """Return the sudo prompt of each action, as a user who has every factor sees it."""
    token, _ = issue(admin_user, workspace, "ci-deploy")
    reveal = reverse("tokens:reveal", kwargs={"slug": "acme", "public_id": token.public_id})
    passkey = Passkey.objects.filter(user=admin_user).first()
    remove_passkey = reverse("accounts:passkey_remove", args=[passkey.pk])
    return {
        "reveal": client.post(reveal, {"purpose": "reveal"}, **HTMX),
        "remove passkey": client.get(remove_passkey, **HTMX),
        "remove app": client.get(TOTP_REMOVE),
        "recovery codes": client.get(REGENERATE),
        "single sign-on": client.get(SSO_SETTINGS),
        "policies": client.get(POLICIES),
        "add passkey": client.get(ADD_PASSKEY, **HTMX),
    }


def test_every_prompt_offers_the_password_a_code_and_a_passkey(
    retrievable, workspace, admin_client, admin_user
):
    add_passkey(admin_client)
    enrol_totp(admin_user)
    for action, response in _prompts(admin_client, workspace, admin_user).items():
        page = response.content.decode()
        assert response.status_code == 200, action
        assert 'name="password"' in page, action
        assert 'name="code"' in page, action
        assert "data-passkey-sudo-button" in page, action
        assert "data-sudo-prompt" in page, action
        assert "Confirm with" not in page, action  # they have a password: no SSO round trip


def test_the_policies_tab_has_one_prompt_per_form_with_ids_apart(workspace, admin_client):
    page = admin_client.get(POLICIES).content.decode()
    assert page.count('name="password"') == 2
    ids = re.findall(r'id="([^"]+)"', page)
    assert len(ids) == len(set(ids))


# Policies and factors need sudo mode ---------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
def test_a_policy_change_without_sudo_is_refused_and_keeps_what_was_typed(
    workspace, admin_client, htmx
):
    """Sudo mode lapsed while the page was open: the form came without the prompt."""
    headers = HTMX if htmx else {}
    typed = policy_data(max_lifetime_days="30", members_may_create_personal=None)
    response = admin_client.post(POLICIES, typed, **headers)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="password"' in page and "Confirm it is you" in page
    assert 'value="30"' in page  # nothing typed is lost
    assert not re.search(r'name="members_may_create_personal"[^>]*checked', page)
    assert lifetime(workspace) is None
    empty = admin_client.post(POLICIES, {**typed, "password": ""}, **headers).content.decode()
    assert "Enter your password." in empty and 'value="30"' in empty
    wrong = admin_client.post(POLICIES, policy_data(max_lifetime_days="30", password="nope"))
    assert "This is not your password." in wrong.content.decode()
    assert 'value="30"' in wrong.content.decode()
    assert lifetime(workspace) is None
    saved = admin_client.post(POLICIES, policy_data(max_lifetime_days="30", password=PASSWORD))
    assert saved.status_code == 302
    assert lifetime(workspace) == 30
    assert confirmations() == ["password"]


def test_a_policy_change_in_sudo_mode_asks_nothing(workspace, admin_client):
    stamp_sudo(admin_client)
    assert 'name="password"' not in admin_client.get(POLICIES).content.decode()
    assert admin_client.post(POLICIES, policy_data(max_lifetime_days="7")).status_code == 302
    assert lifetime(workspace) == 7


def test_the_two_factor_policy_needs_sudo(workspace, admin_client, admin_user):
    enrol_totp(admin_user)
    data = {"section": "two_factor", "two_factor_policy": "admins_and_managers"}
    refused = admin_client.post(POLICIES, data)
    assert refused.status_code == 200
    chosen = r'<input[^>]*value="admins_and_managers"[^>]*checked'
    assert re.search(chosen, refused.content.decode())  # the choice is kept
    workspace.refresh_from_db()
    assert workspace.two_factor_policy == TwoFactorPolicy.OFF
    assert admin_client.post(POLICIES, {**data, "password": PASSWORD}).status_code == 302
    workspace.refresh_from_db()
    assert workspace.two_factor_policy == TwoFactorPolicy.ADMINS_AND_MANAGERS


def test_a_passkey_confirms_a_policy_change(workspace, admin_client):
    """What static/js/passkeys.js does: the passkey first, then the form as typed."""
    key = add_passkey(admin_client)
    assert confirm_with(admin_client, key).json() == {"confirmed": True}
    response = admin_client.post(POLICIES, policy_data(max_lifetime_days="90", password=""))
    assert response.status_code == 302
    assert lifetime(workspace) == 90
    assert confirmations() == ["passkey"]


def test_adding_a_passkey_asks_who_it_is_first(admin_client):
    dialog = admin_client.get(ADD_PASSKEY, **HTMX).content.decode()
    assert 'name="password"' in dialog and "data-passkey-add" not in dialog
    refused = admin_client.post(reverse("accounts:passkey_add_options"), {"name": "Phone"})
    assert (refused.status_code, refused.json()["error"]) == (403, "sudo_required")
    answer = SoftAuthenticator().create({"user": {"id": "AA"}, "challenge": "AA"})
    refused = post_json(admin_client, "accounts:passkey_add", {"name": "x", "credential": answer})
    assert (refused.status_code, refused.json()["error"]) == (403, "sudo_required")
    named = admin_client.post(ADD_PASSKEY, {"password": PASSWORD}, **HTMX).content.decode()
    assert "data-passkey-add" in named and 'name="password"' not in named
    assert confirmations() == ["password"]


def test_setting_up_an_app_asks_who_it_is_before_showing_a_key(member_user):
    client = signed_in(member_user)
    page = client.get(TOTP_SETUP).content.decode()
    assert 'name="password"' in page and "<svg" not in page
    assert "<svg" not in client.post(TOTP_SETUP, {"password": "nope"}).content.decode()
    shown = client.post(TOTP_SETUP, {"password": PASSWORD}).content.decode()
    assert "<svg" in shown and 'name="code"' in shown
    assert "This field is required" not in shown  # the password answered the prompt only


@pytest.mark.parametrize(
    ("url", "data"),
    [(REGENERATE, {}), (TOTP_REMOVE, {})],
)
def test_factor_pages_refuse_without_sudo(admin_client, admin_user, url, data):
    add_passkey(admin_client)
    enrol_totp(admin_user)
    before = set(RecoveryCode.objects.values_list("digest", flat=True))
    response = admin_client.post(url, data)
    assert response.status_code == 200 and 'name="password"' in response.content.decode()
    assert factors.TOTP in factors.methods(admin_user)
    assert set(RecoveryCode.objects.values_list("digest", flat=True)) == before


def test_removing_the_app_with_a_passkey_left_takes_sudo_mode(admin_client, admin_user):
    add_passkey(admin_client)
    enrol_totp(admin_user)
    key = Passkey.objects.get()
    assert factors.factor_count(admin_user) == 2
    stamp_sudo(admin_client)
    assert admin_client.post(TOTP_REMOVE).status_code == 302
    assert factors.methods(admin_user)[0] == factors.PASSKEY and Passkey.objects.get() == key


# The last factor ----------------------------------------------------------------------------


def _remove_url() -> str:
    return reverse("accounts:passkey_remove", args=[Passkey.objects.get().pk])


def test_sudo_mode_is_not_enough_for_the_last_passkey(admin_client, admin_user):
    add_passkey(admin_client)
    stamp_sudo(admin_client)
    dialog = admin_client.get(_remove_url(), **HTMX).content.decode()
    assert "This is your only second factor" in dialog
    assert 'name="password"' in dialog and 'name="code"' in dialog
    assert "data-passkey-sudo-button" in dialog
    assert admin_client.post(_remove_url(), **HTMX).status_code == 200
    only_password = admin_client.post(_remove_url(), {"password": PASSWORD}, **HTMX)
    assert "Confirm with a passkey, or enter a code." in only_password.content.decode()
    assert Passkey.objects.exists()


def test_the_last_passkey_goes_with_the_password_and_a_recovery_code(admin_client, admin_user):
    add_passkey(admin_client)
    codes = shown_codes(admin_client.get(NEW_CODES))
    wrong = admin_client.post(_remove_url(), {"password": "nope", "code": codes[0]}, **HTMX)
    assert "This is not your password." in wrong.content.decode()
    assert RecoveryCode.objects.unused().count() == 10  # no code spent on a wrong password
    response = admin_client.post(_remove_url(), {"password": PASSWORD, "code": codes[0]}, **HTMX)
    assert response.status_code == 200
    assert not Passkey.objects.exists()
    assert not RecoveryCode.objects.exists()  # with the last factor go the codes


def give_passkey_to_remove(client: Client, authenticator: SoftAuthenticator):
    """Post what "Use a passkey instead" posts in the last factor's prompt."""
    options = client.post(reverse("accounts:passkey_sudo_options")).json()
    body = {"credential": authenticator.get(options), "purpose": "remove_factor"}
    return post_json(client, "accounts:passkey_sudo", body)


def test_the_last_passkey_goes_with_the_password_and_that_passkey(admin_client, admin_user):
    key = add_passkey(admin_client)
    dialog = admin_client.get(_remove_url(), **HTMX).content.decode()
    assert 'data-purpose="remove_factor"' in dialog
    assert give_passkey_to_remove(admin_client, key).json() == {"confirmed": True}
    response = admin_client.post(_remove_url(), {"password": PASSWORD}, **HTMX)
    assert response.status_code == 200
    assert not Passkey.objects.exists()
    # The passkey's answer counts once: the next removal asks again.
    key = add_passkey(admin_client, name="Phone")
    refused = admin_client.post(_remove_url(), {"password": PASSWORD}, **HTMX)
    assert "Confirm with a passkey, or enter a code." in refused.content.decode()
    # A passkey given for sudo mode alone (a reveal, a policy) is not that factor.
    confirm_with(admin_client, key)
    refused = admin_client.post(_remove_url(), {"password": PASSWORD}, **HTMX)
    assert "Confirm with a passkey, or enter a code." in refused.content.decode()
    assert Passkey.objects.exists()


# Recovery codes for passkey-only users ------------------------------------------------------


def test_the_first_passkey_comes_with_recovery_codes_shown_once(admin_client, admin_user):
    stamp_sudo(admin_client)
    authenticator = SoftAuthenticator()
    options = admin_client.post(reverse("accounts:passkey_add_options"), {"name": "L"}).json()
    body = {"name": "L", "credential": authenticator.create(options)}
    answer = post_json(admin_client, "accounts:passkey_add", body).json()
    assert answer == {"redirect": NEW_CODES}
    page = admin_client.get(NEW_CODES)
    codes = shown_codes(page)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "in their place" in page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert RecoveryCode.objects.filter(user=admin_user).unused().count() == 10
    again = admin_client.get(NEW_CODES)
    assert again.status_code == 302 and shown_codes(admin_client.get(again["Location"])) == []
    # A second passkey is not a first factor: the codes stay.
    digests = set(RecoveryCode.objects.values_list("digest", flat=True))
    options = admin_client.post(reverse("accounts:passkey_add_options"), {"name": "P"}).json()
    body = {"name": "P", "credential": SoftAuthenticator().create(options)}
    assert post_json(admin_client, "accounts:passkey_add", body).json() == {"redirect": PASSKEYS}
    assert set(RecoveryCode.objects.values_list("digest", flat=True)) == digests


def test_the_security_page_offers_new_codes_to_a_passkey_only_user(admin_client, admin_user):
    add_passkey(admin_client)
    page = admin_client.get(reverse("accounts:security")).content.decode()
    assert REGENERATE in page and "10 of 10 left" in page
    stamp_sudo(admin_client)
    assert len(shown_codes(admin_client.post(REGENERATE))) == 10


def test_a_passkey_only_user_signs_in_with_a_recovery_code(admin_client, admin_user):
    add_passkey(admin_client)
    codes = shown_codes(admin_client.get(NEW_CODES))
    browser = Client()
    step = browser.post(
        reverse("accounts:login"), {"username": admin_user.email, "password": PASSWORD}
    )
    two_factor = reverse("accounts:security_two_factor")
    assert step["Location"].startswith(two_factor)
    assert "Use a recovery code" in browser.get(step["Location"]).content.decode()
    done = browser.post(two_factor, {"method": "recovery_code", "code": codes[3]})
    assert done.status_code == 302
    assert browser.session[USER_SESSION_KEY] == str(admin_user.pk)


# Accounts without a password ----------------------------------------------------------------


@pytest.fixture
def passwordless(member_user):
    """An account single sign-on made: it has no usable password."""
    member_user.set_unusable_password()
    member_user.save()
    return member_user


def test_no_password_field_for_an_account_without_one(oidc_provider, passwordless):
    client = signed_in(passwordless)
    dialog = client.get(ADD_PASSKEY, **HTMX, HTTP_HX_CURRENT_URL=f"http://testserver{PASSKEYS}")
    page = dialog.content.decode()
    assert 'name="password"' not in page
    assert f'href="{CONFIRM_WITH_SSO}?next=%2Faccount%2Fsecurity%2Fpasskeys%2F"' in page
    assert "Confirm with SSO" in page
    # A posted password is not even looked at.
    client.post(ADD_PASSKEY, {"password": PASSWORD}, **HTMX)
    assert sudo.SESSION_KEY not in client.session


def test_without_sso_an_account_without_a_password_is_told_how_to_get_one(passwordless):
    page = signed_in(passwordless).get(ADD_PASSKEY, **HTMX).content.decode()
    assert 'name="password"' not in page and "Confirm with" not in page
    assert reverse("accounts:password_reset") in page


def test_an_account_without_a_password_may_use_its_app(passwordless):
    from tests.accounts.otp import totp

    key, _codes = enrol_totp(passwordless)
    client = signed_in(passwordless)
    page = client.get(REGENERATE).content.decode()
    assert 'name="code"' in page and 'name="password"' not in page
    client.post(REGENERATE, {"code": totp(key, steps_off=1)})
    assert confirmations() == ["totp"]


def test_signing_in_with_sso_again_grants_sudo_mode(oidc_provider, passwordless):
    client = signed_in(passwordless)
    response = sign_in_through(client, start=CONFIRM_WITH_SSO, next_url=PASSKEYS)
    assert (response.status_code, response["Location"]) == (302, PASSKEYS)
    assert sudo.is_active(_request_of(client))
    assert confirmations() == ["sso"]
    (authorization,) = oidc_provider.authorizations
    assert (authorization.prompt, authorization.max_age) == ("login", "0")
    # Still the same session's user, signed in as before; nobody else was created.
    assert client.session[USER_SESSION_KEY] == str(passwordless.pk)


def test_sso_confirms_only_the_signed_in_user(oidc_provider, passwordless, admin_user):
    oidc_provider.person = {**oidc_provider.person, "email": admin_user.email}
    client = signed_in(passwordless)
    response = sign_in_through(client, start=CONFIRM_WITH_SSO, next_url=PASSKEYS)
    assert (response.status_code, response["Location"]) == (302, PASSKEYS)
    assert sudo.SESSION_KEY not in client.session
    assert confirmations() == []
    assert client.session[USER_SESSION_KEY] == str(passwordless.pk)
    failure = AuditEvent.objects.get(action="signin.sso_failed")
    assert failure.details["reason"] == "other_user"
    page = client.get(PASSKEYS).content.decode()
    assert "signed in someone else" in page


def test_sso_confirms_only_a_fresh_sign_in(oidc_provider, passwordless):
    oidc_provider.id_token_claims = {"auth_time": int(time.time()) - 3600}
    client = signed_in(passwordless)
    sign_in_through(client, start=CONFIRM_WITH_SSO, next_url=PASSKEYS)
    assert sudo.SESSION_KEY not in client.session
    assert AuditEvent.objects.get(action="signin.sso_failed").details["reason"] == "stale_login"
    oidc_provider.id_token_claims = {"auth_time": int(time.time())}
    sign_in_through(client, start=CONFIRM_WITH_SSO, next_url=PASSKEYS)
    assert sudo.SESSION_KEY in client.session


def test_an_answer_with_another_state_confirms_nothing(oidc_provider, passwordless):
    client = signed_in(passwordless)
    sign_in_through(client, start=CONFIRM_WITH_SSO, next_url=PASSKEYS, state="forged")
    assert sudo.SESSION_KEY not in client.session
    assert confirmations() == []


def test_the_provider_answer_works_once(oidc_provider, passwordless):
    """The same callback again (a replayed URL) is no confirmation: its state was used."""

    client = signed_in(passwordless)
    started = client.get(CONFIRM_WITH_SSO, {"next": PASSKEYS})
    answer = requests.get(started["Location"], allow_redirects=False, timeout=10)
    callback = urlsplit(answer.headers["Location"])
    query = {name: values[0] for name, values in parse_qs(callback.query).items()}
    assert client.get(callback.path, query)["Location"] == PASSKEYS
    session = client.session
    del session[sudo.SESSION_KEY]
    session.save()
    client.get(callback.path, query)
    assert sudo.SESSION_KEY not in client.session
    assert confirmations() == ["sso"]


def test_confirming_with_sso_needs_a_signed_in_user_and_sso(oidc_provider, settings):
    response = Client().get(CONFIRM_WITH_SSO)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_confirming_with_sso_is_not_found_while_sso_is_off(passwordless):
    assert signed_in(passwordless).get(CONFIRM_WITH_SSO).status_code == 404


def test_a_plain_sso_sign_in_still_signs_in(oidc_provider, member_user):
    client = Client()
    response = sign_in_through(client, next_url="/w/acme/")
    assert response["Location"] == "/w/acme/"
    assert client.session[USER_SESSION_KEY] == str(member_user.pk)
    assert confirmations() == []


def _request_of(client: Client):
    """Return a request carrying the client's session, to ask sudo.is_active about it."""
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.session = client.session
    return request


def test_an_account_without_a_password_removes_its_last_passkey_with_sudo_and_the_passkey(
    passwordless,
):
    client = signed_in(passwordless)
    key = add_passkey(client)
    url = _remove_url()
    prompt = client.get(url, **HTMX).content.decode()
    assert 'name="password"' not in prompt and "data-passkey-sudo-button" in prompt
    assert 'data-purpose="remove_factor"' not in prompt  # first sudo mode, then the factor
    confirm_with(client, key)
    step = client.post(url, **HTMX).content.decode()  # the prompt's form, sent by the page
    assert 'data-purpose="remove_factor"' in step and 'name="code"' in step
    assert "Confirm with a passkey, or enter a code." not in step
    refused = client.post(url, {"code": ""}, **HTMX).content.decode()
    assert "Confirm with a passkey, or enter a code." in refused
    give_passkey_to_remove(client, key)
    assert client.post(url, {"code": ""}, **HTMX).status_code == 200
    assert not Passkey.objects.exists()
