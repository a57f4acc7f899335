"""The WebAuthn ceremonies (accounts/signin/passkeys.py) on answers a real P-256 key signed."""

from __future__ import annotations

import time

import pytest
from django.contrib.sessions.backends.cache import SessionStore
from django.test import RequestFactory
from webauthn.helpers import bytes_to_base64url

from accounts.models import AuditEvent, Passkey
from accounts.signin import passkey_services, passkeys
from accounts.signin.passkeys import PasskeyRefused
from tests.authenticator import SoftAuthenticator


@pytest.fixture(autouse=True)
def _relying_party(settings):
    settings.KEYWARD_WEBAUTHN_ORIGIN = "http://testserver"
    settings.KEYWARD_WEBAUTHN_RP_ID = ""


@pytest.fixture
def make_request():
    """Return a factory of POST requests from one browser: they share a session."""
    session = SessionStore()

    def make(user=None):
        request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.9")
        request.session = session
        if user is not None:
            request.user = user
        return request

    return make


def register(
    make_request, user, authenticator=None, name="Laptop"
) -> tuple[Passkey, SoftAuthenticator]:
    authenticator = authenticator or SoftAuthenticator()
    options = passkeys.registration_options(make_request(user), user)
    answer = authenticator.create(options)
    passkey, _codes = passkey_services.passkey_register(
        request=make_request(user), user=user, name=name, credential=answer
    )
    return passkey, authenticator


def test_registration_options_prefer_a_discoverable_verified_credential(make_request, admin_user):
    options = passkeys.registration_options(make_request(admin_user), admin_user)
    assert options["rp"] == {"id": "testserver", "name": "Keyward"}
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    assert options["user"]["name"] == admin_user.email
    assert options["excludeCredentials"] == []
    assert options["extensions"] == {"credProps": True}


def test_registration_stores_the_public_key_and_excludes_it_next_time(
    make_request, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        passkey, authenticator = register(make_request, admin_user)
    assert passkey.user == admin_user
    assert bytes(passkey.credential_id) == authenticator.credential_id
    assert passkey.discoverable is True
    assert passkey.transports == ["internal"]
    assert AuditEvent.objects.filter(action="factor.passkey_added", actor_user=admin_user).exists()
    assert [m.to for m in mailoutbox] == [[admin_user.email]]
    assert mailoutbox[0].body.startswith('A passkey "Laptop" was added to the Keyward account')
    options = passkeys.registration_options(make_request(admin_user), admin_user)
    assert [c["id"] for c in options["excludeCredentials"]] == [
        bytes_to_base64url(authenticator.credential_id)
    ]
    # A second passkey of the same user carries the same user handle.
    assert passkeys.user_handle(admin_user) == bytes(passkey.user_handle)


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        ({"origin": "http://evil.example"}, "invalid"),
        ({"rp_id": "evil.example"}, "invalid"),
    ],
)
def test_registration_from_another_site_is_refused(make_request, admin_user, spoil, reason):
    options = passkeys.registration_options(make_request(admin_user), admin_user)
    answer = SoftAuthenticator().create(options, **spoil)
    with pytest.raises(PasskeyRefused) as refused:
        passkeys.verify_registration(make_request(admin_user), admin_user, answer)
    assert refused.value.reason == reason
    assert not Passkey.objects.exists()


def test_registration_challenge_is_single_use(make_request, admin_user):
    options = passkeys.registration_options(make_request(admin_user), admin_user)
    answer = SoftAuthenticator().create(options)
    passkeys.verify_registration(make_request(admin_user), admin_user, answer)
    with pytest.raises(PasskeyRefused) as refused:
        passkeys.verify_registration(make_request(admin_user), admin_user, answer)
    assert refused.value.reason == "no_challenge"


def test_a_stale_challenge_is_refused(make_request, admin_user, monkeypatch):
    options = passkeys.registration_options(make_request(admin_user), admin_user)
    answer = SoftAuthenticator().create(options)
    later = time.time() + passkeys.CHALLENGE_SECONDS + 1
    monkeypatch.setattr(passkeys.time, "time", lambda: later)
    with pytest.raises(PasskeyRefused) as refused:
        passkeys.verify_registration(make_request(admin_user), admin_user, answer)
    assert refused.value.reason == "no_challenge"


def test_a_challenge_made_for_one_user_does_not_register_for_another(
    make_request, admin_user, member_user
):
    options = passkeys.registration_options(make_request(admin_user), admin_user)
    answer = SoftAuthenticator().create(options)
    with pytest.raises(PasskeyRefused) as refused:
        passkeys.verify_registration(make_request(member_user), member_user, answer)
    assert refused.value.reason == "no_challenge"


def test_assertion_signs_in_the_passkeys_user_and_records_the_use(make_request, admin_user):
    passkey, authenticator = register(make_request, admin_user)
    options = passkeys.authentication_options(make_request())
    assert options["allowCredentials"] == []
    assert options["rpId"] == "testserver"
    used = passkeys.verify_assertion(make_request(), authenticator.get(options))
    assert used.pk == passkey.pk
    passkey.refresh_from_db()
    assert passkey.sign_count == 1
    assert passkey.last_used_at is not None


def test_assertion_for_a_known_user_lists_their_passkeys(make_request, admin_user):
    passkey, authenticator = register(make_request, admin_user)
    options = passkeys.authentication_options(make_request(admin_user), user=admin_user)
    assert [c["id"] for c in options["allowCredentials"]] == [
        bytes_to_base64url(authenticator.credential_id)
    ]
    assert (
        passkeys.verify_assertion(
            make_request(admin_user), authenticator.get(options), user=admin_user
        )
        == passkey
    )


def test_an_authenticator_without_a_counter_keeps_signing_in(make_request, admin_user):
    _, authenticator = register(make_request, admin_user, SoftAuthenticator(counts=False))
    for _ in range(2):
        options = passkeys.authentication_options(make_request())
        passkeys.verify_assertion(make_request(), authenticator.get(options))


def refusal(make_request, answer_of, user=None) -> str:
    options = passkeys.authentication_options(make_request(user), user=user)
    with pytest.raises(PasskeyRefused) as refused:
        passkeys.verify_assertion(make_request(user), answer_of(options), user=user)
    return refused.value.reason


def test_assertion_refusals(make_request, admin_user, member_user):
    """Each kind of bad answer is refused with its own reason, audited, and changes nothing."""
    passkey, authenticator = register(make_request, admin_user)
    _, members = register(make_request, member_user)
    stranger = SoftAuthenticator()
    stranger.user_handle = bytes(passkey.user_handle)

    assert refusal(make_request, lambda o: authenticator.get(o, origin="http://evil")) == "invalid"
    assert refusal(make_request, lambda o: authenticator.get(o, rp_id="evil")) == "invalid"
    assert refusal(make_request, lambda o: authenticator.get({"challenge": "AAAA"})) == "invalid"
    assert refusal(make_request, stranger.get) == "unknown_credential"
    # The member's passkey offered while the Admin confirms it is them.
    assert refusal(make_request, members.get, user=admin_user) == "wrong_user"
    # A valid signature by another key over the Admin's credential id.
    forged = SoftAuthenticator(credential_id=authenticator.credential_id)
    forged.user_handle = bytes(passkey.user_handle)
    assert refusal(make_request, forged.get) == "invalid"
    passkey.refresh_from_db()
    assert passkey.sign_count == 0
    assert passkey.last_used_at is None
    reasons = list(
        AuditEvent.objects.filter(action="signin.passkey_failed")
        .order_by("pk")
        .values_list("details__reason", flat=True)
    )
    assert reasons == [
        "invalid",
        "invalid",
        "invalid",
        "unknown_credential",
        "wrong_user",
        "invalid",
    ]


def test_a_replayed_answer_is_refused(make_request, admin_user):
    _, authenticator = register(make_request, admin_user)
    options = passkeys.authentication_options(make_request())
    answer = authenticator.get(options)
    passkeys.verify_assertion(make_request(), answer)
    with pytest.raises(PasskeyRefused) as refused:
        passkeys.verify_assertion(make_request(), answer)
    assert refused.value.reason == "no_challenge"


def test_a_sign_count_going_back_is_refused_as_a_clone(make_request, admin_user):
    passkey, authenticator = register(make_request, admin_user)
    for _ in range(3):
        options = passkeys.authentication_options(make_request())
        passkeys.verify_assertion(make_request(), authenticator.get(options))
    assert refusal(make_request, lambda o: authenticator.get(o, sign_count=2)) == "sign_count"
    assert refusal(make_request, lambda o: authenticator.get(o, sign_count=3)) == "sign_count"
    passkey.refresh_from_db()
    assert passkey.sign_count == 3


def test_passwordless_sign_in_needs_the_person_verified(make_request, admin_user):
    _, authenticator = register(make_request, admin_user)
    authenticator.user_verified = False
    assert refusal(make_request, authenticator.get) == "invalid"
    # As a second factor (the user is known), presence is enough.
    options = passkeys.authentication_options(make_request(admin_user), user=admin_user)
    passkeys.verify_assertion(make_request(admin_user), authenticator.get(options), user=admin_user)


def test_failures_count_under_the_sign_in_limit(make_request, admin_user, settings):
    settings.KEYWARD_LOGIN_FAILURES_PER_IP = 3
    _, authenticator = register(make_request, admin_user)
    stranger = SoftAuthenticator()
    for _ in range(3):
        assert refusal(make_request, stranger.get) == "unknown_credential"
    # Over the limit, even a good passkey is refused from this address, and nothing is checked.
    assert refusal(make_request, authenticator.get) == "rate_limited"
    assert AuditEvent.objects.filter(action="signin.passkey_failed").count() == 3


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "text",
        {},
        {"id": "x"},
        {"id": "AA", "rawId": "AA", "response": "x", "type": "public-key"},
    ],
)
def test_malformed_answers_are_refused(make_request, admin_user, answer):
    register(make_request, admin_user)
    assert refusal(make_request, lambda o: answer) in ("invalid", "unknown_credential")


def test_relying_party_defaults(rf, settings):
    settings.KEYWARD_WEBAUTHN_ORIGIN = ""
    settings.KEYWARD_BASE_URL = "https://keys.example.com/"
    settings.DEBUG = False
    request = rf.get("/")
    assert passkeys.relying_party(request) == passkeys.RelyingParty(
        "keys.example.com", "https://keys.example.com"
    )
    settings.DEBUG = True
    assert passkeys.relying_party(request) == passkeys.RelyingParty(
        "testserver", "http://testserver"
    )
    settings.KEYWARD_WEBAUTHN_RP_ID = "example.com"
    assert passkeys.relying_party(request).id == "example.com"


def test_an_answer_naming_another_account_is_refused(make_request, admin_user):
    """The user handle the authenticator returns must be the one stored with the passkey."""
    _, authenticator = register(make_request, admin_user)
    authenticator.user_handle = b"someone-else"
    assert refusal(make_request, authenticator.get) == "wrong_user"


def test_a_sudo_challenge_does_not_serve_a_passwordless_sign_in(make_request, admin_user):
    """Options made for one known user (sudo) are bound to them, not to "anyone"."""
    _, authenticator = register(make_request, admin_user)
    options = passkeys.authentication_options(make_request(admin_user), user=admin_user)
    with pytest.raises(PasskeyRefused) as refused:
        passkeys.verify_assertion(make_request(), authenticator.get(options))
    assert refused.value.reason == "no_challenge"


def test_a_credential_registers_once(make_request, admin_user, member_user):
    """An authenticator that ignores excludeCredentials cannot store one credential twice."""
    _, authenticator = register(make_request, admin_user)
    options = passkeys.registration_options(make_request(member_user), member_user)
    with pytest.raises(PasskeyRefused) as refused:
        passkeys.verify_registration(
            make_request(member_user), member_user, authenticator.create(options)
        )
    assert refused.value.reason == "already_registered"
    assert refused.value.message == "This passkey is already registered to an account."
