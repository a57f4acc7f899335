"""Second factors as services: set-up, single use of codes, recovery codes, removal, limits."""

from __future__ import annotations

import base64
import re

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import AuditEvent, RecoveryCode, TotpDevice
from accounts.signin import factors, recovery, sealing
from tests.accounts.otp import enrol_totp, key_from_text, totp


@pytest.fixture
def user(member_user):
    return member_user


def test_a_user_without_factors_has_none(user):
    assert factors.methods(user) == []
    assert not factors.has_two_factor(user)


def test_set_up_stores_nothing_until_a_code_matches(user):
    sealed = factors.totp_setup_start(user=user)
    assert not TotpDevice.objects.exists()
    key = key_from_text(factors.totp_setup_details(user=user, sealed_key=sealed)["key_text"])
    with pytest.raises(ValidationError) as wrong:
        factors.totp_setup_confirm(user=user, sealed_key=sealed, code=totp(key, steps_off=5))
    assert wrong.value.message_dict["code"] == [factors.SETUP_MISMATCH]
    assert not factors.has_two_factor(user)
    assert not TotpDevice.objects.exists()
    codes = factors.totp_setup_confirm(user=user, sealed_key=sealed, code=totp(key))
    assert factors.methods(user) == ["totp", "recovery_code"]
    assert factors.has_two_factor(user)
    assert len(codes) == 10 == len(set(codes))
    assert all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}", code) for code in codes)
    # The code that confirmed it is spent.
    assert not factors.totp_use(user, totp(key))


def test_wrong_set_up_codes_do_not_count_against_signing_in(user, settings):
    # The user is looking at the key: a wrong code guesses nothing, and must not lock them out.
    sealed = factors.totp_setup_start(user=user)
    key = key_from_text(factors.totp_setup_details(user=user, sealed_key=sealed)["key_text"])
    for _ in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT + 1):
        with pytest.raises(ValidationError):
            factors.totp_setup_confirm(user=user, sealed_key=sealed, code=totp(key, steps_off=5))
    assert factors.totp_setup_confirm(user=user, sealed_key=sealed, code=totp(key))
    assert (
        factors.check_code(None, user, totp(key, steps_off=1), method="totp", purpose="sign_in")
        is None
    )


def test_a_second_app_is_refused_until_the_first_is_removed(user):
    sealed = factors.totp_setup_start(user=user)  # a second tab's set-up, begun first
    enrol_totp(user)
    with pytest.raises(ValidationError, match="Remove it first"):
        factors.totp_setup_start(user=user)
    key = key_from_text(factors.totp_setup_details(user=user, sealed_key=sealed)["key_text"])
    with pytest.raises(ValidationError, match="Remove it first"):
        factors.totp_setup_confirm(user=user, sealed_key=sealed, code=totp(key))
    assert TotpDevice.objects.filter(user=user).count() == 1


def test_the_key_is_stored_encrypted_under_the_secret_key(user, settings):
    key, _ = enrol_totp(user)
    device = TotpDevice.objects.get(user=user)
    assert base64.b32encode(key).decode().rstrip("=") not in device.sealed_key
    assert sealing.unseal(device.sealed_key) == key
    old_secret_key = settings.SECRET_KEY
    settings.SECRET_KEY = "another-secret-key-entirely"
    with pytest.raises(sealing.Unsealable):
        sealing.unseal(device.sealed_key)
    assert not factors.totp_use(user, totp(key, steps_off=1))
    # A rotation keeps it working through the fallbacks, and its next use seals it anew.
    settings.SECRET_KEY_FALLBACKS = [old_secret_key]
    assert factors.totp_use(user, totp(key, steps_off=1))
    settings.SECRET_KEY_FALLBACKS = []
    assert sealing.unseal(TotpDevice.objects.get(user=user).sealed_key) == key


def test_a_code_is_accepted_once(user):
    key, _ = enrol_totp(user)  # used the current step
    assert not factors.totp_use(user, totp(key))  # the same code again: refused
    nxt = totp(key, steps_off=1)
    assert factors.totp_use(user, nxt)
    assert not factors.totp_use(user, nxt)
    # An older step than the last used one is refused too, though inside the window.
    assert not factors.totp_use(user, totp(key, steps_off=-1))


def test_two_checks_racing_with_one_code_accept_it_once(user):
    key, _ = enrol_totp(user)
    stale = TotpDevice.objects.get(user=user)  # both requests loaded it before either wrote
    code = totp(key, steps_off=1)
    assert factors._use_step(stale, code, at=None)
    assert not factors._use_step(stale, code, at=None)  # the conditional UPDATE refuses


def test_recovery_codes_are_single_use_and_stored_as_keyed_digests(user):
    _, codes = enrol_totp(user)
    stored = set(RecoveryCode.objects.filter(user=user).values_list("digest", flat=True))
    assert len(stored) == 10
    assert not any(code.replace("-", "") in digest for code in codes for digest in stored)
    assert recovery.digest(codes[0]) in stored
    assert factors.recovery_code_use(user, codes[0].upper().replace("-", " "))
    assert not factors.recovery_code_use(user, codes[0])
    assert RecoveryCode.objects.filter(user=user).unused().count() == 9
    assert not factors.recovery_code_use(user, "aaaa-bbbb-cccc")
    assert not factors.recovery_code_use(user, "not a code")


def test_regenerating_recovery_codes_voids_the_old_ones(user, django_capture_on_commit_callbacks):
    _, old = enrol_totp(user)
    with django_capture_on_commit_callbacks(execute=True):
        new = factors.recovery_codes_regenerate(user=user)
    assert set(new).isdisjoint(old)
    assert not factors.recovery_code_use(user, old[1])
    assert factors.recovery_code_use(user, new[1])
    assert AuditEvent.objects.filter(action="factor.recovery_codes_regenerated").count() == 1
    assert mail.outbox[-1].subject == (
        "Keyward: new recovery codes were made; the old ones no longer work"
    )


def test_regenerating_without_a_factor_is_refused(user):
    with pytest.raises(ValidationError, match="Add a passkey or set up an authenticator app first"):
        factors.recovery_codes_regenerate(user=user)


def test_removing_the_last_factor_takes_the_recovery_codes(
    user, django_capture_on_commit_callbacks
):
    enrol_totp(user)
    with django_capture_on_commit_callbacks(execute=True):
        factors.totp_remove(user=user)
    assert factors.methods(user) == []
    assert not RecoveryCode.objects.filter(user=user).exists()
    assert mail.outbox[-1].subject == "Keyward: an authenticator app was removed from your account"
    with pytest.raises(ValidationError, match="No authenticator app"):
        factors.totp_remove(user=user)


def test_adding_and_removing_are_audited_and_emailed(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        enrol_totp(user)
    assert mail.outbox[-1].to == [user.email]
    assert mail.outbox[-1].subject == "Keyward: an authenticator app was added to your account"
    assert "/account/security/" in mail.outbox[-1].body
    with django_capture_on_commit_callbacks(execute=True):
        factors.totp_remove(user=user)
    actions = list(
        AuditEvent.objects.filter(actor_user=user).order_by("id").values_list("action", "details")
    )
    assert actions == [("factor.added", {"method": "totp"}), ("factor.removed", {"method": "totp"})]


def test_wrong_codes_count_under_the_sign_in_limit(user, settings):
    settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT = 3
    key, _ = enrol_totp(user)
    for _ in range(3):
        assert factors.check_code(None, user, "000000", method="totp", purpose="sign_in") in {
            "wrong_code"
        }
    right = totp(key, steps_off=1)
    assert factors.check_code(None, user, right, method="totp", purpose="sign_in") == (
        "rate_limited"
    )
    assert factors.totp_use(user, right)  # it was not spent by the refusal
    failures = AuditEvent.objects.filter(action="signin.two_factor_failed", actor_user=user)
    assert failures.count() == 3
    assert failures.first().details == {"method": "totp", "purpose": "sign_in"}
