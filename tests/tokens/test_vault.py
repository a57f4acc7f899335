"""The vault that keeps encrypted copies of secrets (retrievable policy), its key rotation,
and the command that re-encrypts stored copies with the newest key."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.factories import issue
from tokens import secrets, services, vault
from tokens.checks import check_encryption_keys
from tokens.models import Token

SECRET = "kww_0123456789abcdefghijABCDEFGHIJ0a1B2c"


def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def old_key(settings) -> str:
    """Configure one key and return it."""
    key = new_key()
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [key]
    return key


# Encrypt and decrypt -------------------------------------------------------------------


def test_a_secret_survives_the_round_trip(old_key):
    assert vault.decrypt(vault.encrypt(SECRET)) == SECRET


def test_the_ciphertext_does_not_contain_the_secret(old_key):
    ciphertext = vault.encrypt(SECRET)

    assert SECRET not in ciphertext
    assert SECRET[4:] not in ciphertext
    assert Fernet(old_key.encode()).decrypt(ciphertext.encode()).decode() == SECRET


def test_the_same_secret_encrypts_differently_each_time(old_key):
    assert vault.encrypt(SECRET) != vault.encrypt(SECRET)


def test_decrypting_nothing_says_no_copy_is_stored(old_key):
    with pytest.raises(vault.SecretUnavailable):
        vault.decrypt("")


def test_decrypting_garbage_says_the_secret_is_unavailable(old_key):
    with pytest.raises(vault.SecretUnavailable):
        vault.decrypt("not-a-fernet-token")


# Key rotation ----------------------------------------------------------------------------


def test_a_new_key_in_front_still_decrypts_copies_made_with_the_old_one(settings, old_key):
    ciphertext = vault.encrypt(SECRET)
    newest = new_key()
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [newest, old_key]

    assert vault.decrypt(ciphertext) == SECRET
    # New copies use the newest key.
    assert Fernet(newest.encode()).decrypt(vault.encrypt(SECRET).encode()).decode() == SECRET


def test_reencrypt_moves_a_copy_to_the_newest_key_so_the_old_key_can_go(settings, old_key):
    ciphertext = vault.encrypt(SECRET)
    newest = new_key()
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [newest, old_key]

    moved = vault.reencrypt(ciphertext)

    assert moved != ciphertext
    assert SECRET not in moved
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [newest]
    assert vault.decrypt(moved) == SECRET
    with pytest.raises(vault.SecretUnavailable):
        vault.decrypt(ciphertext)


def test_a_copy_whose_key_was_removed_is_unavailable(settings, old_key):
    ciphertext = vault.encrypt(SECRET)
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [new_key()]

    with pytest.raises(vault.SecretUnavailable):
        vault.decrypt(ciphertext)
    with pytest.raises(vault.SecretUnavailable):
        vault.reencrypt(ciphertext)


# Configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize("keys", [[], (), None], ids=["empty-list", "empty-tuple", "none"])
def test_without_keys_the_vault_is_not_configured(settings, keys):
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = keys

    assert vault.is_configured() is False
    with pytest.raises(ImproperlyConfigured):
        vault.encrypt(SECRET)


def test_with_a_key_the_vault_is_configured(old_key):
    assert vault.is_configured() is True


def test_the_test_settings_configure_one_key():
    assert vault.is_configured()
    assert vault.decrypt(vault.encrypt(SECRET)) == SECRET


@pytest.mark.parametrize(
    "bad_key",
    ["not-a-fernet-key", "c2hvcnQ=", Fernet.generate_key().decode()[:-4]],
    ids=["not-base64", "too-short", "truncated"],
)
def test_a_bad_key_leaves_the_vault_unconfigured_and_is_reported_by_a_system_check(
    settings, bad_key
):
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [new_key(), bad_key]

    assert vault.is_configured() is False
    with pytest.raises(ImproperlyConfigured):
        vault.encrypt(SECRET)
    with pytest.raises(vault.SecretUnavailable):
        vault.decrypt("anything")
    errors = check_encryption_keys(None)
    assert [error.id for error in errors] == ["tokens.W001"]
    assert "Key 2 of KEYWARD_TOKEN_ENCRYPTION_KEYS" in errors[0].msg
    assert bad_key not in errors[0].msg  # a key, even a broken one, is not printed


def test_good_keys_or_none_pass_the_system_check(settings):
    for keys in ([], [new_key(), new_key()]):
        settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = keys
        assert check_encryption_keys(None) == []


def test_the_system_check_is_registered(settings):
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = ["not-a-fernet-key"]

    assert "tokens.W001" in {message.id for message in run_checks(databases=[])}


@pytest.mark.django_db
def test_a_bad_key_under_retrievable_issues_tokens_without_a_copy(
    settings, retrievable, workspace, manager_user
):
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = ["not-a-fernet-key"]

    token, secret = issue(manager_user, workspace, name="ci-deploy")

    token.refresh_from_db()
    assert token.encrypted_secret == ""
    assert secrets.digest(secret) == token.digest


# The rotate_token_encryption_keys command ---------------------------------------------------


def run_rotate() -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("rotate_token_encryption_keys", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def stored(old_key, retrievable, admin_user, workspace) -> dict[str, Token]:
    """Return the secrets of two tokens whose copies are encrypted with `old_key`, by secret."""
    tokens = {}
    for name in ("ci-deploy", "nightly"):
        token, secret = issue(admin_user, workspace, name=name)
        assert token.encrypted_secret
        tokens[secret] = token
    return tokens


def test_the_command_reencrypts_every_copy_with_the_newest_key(settings, old_key, stored):
    before = {t.pk: t.encrypted_secret for t in stored.values()}
    newest = new_key()
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [newest, old_key]

    out, err = run_rotate()

    assert "Re-encrypted 2 stored token copies." in out
    assert err == ""
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [newest]  # the old key can now be dropped
    for secret, token in stored.items():
        token.refresh_from_db()
        assert token.encrypted_secret != before[token.pk]
        assert vault.decrypt(token.encrypted_secret) == secret


def test_the_command_leaves_tokens_without_a_copy_alone(
    settings, old_key, workspace, admin_user, stored
):
    plain, _ = issue(admin_user, workspace, name="no-copy")
    Token.objects.filter(pk=plain.pk).update(encrypted_secret="")
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [new_key(), old_key]

    out, _ = run_rotate()

    assert "Re-encrypted 2 stored token copies." in out
    plain.refresh_from_db()
    assert plain.encrypted_secret == ""


def test_the_command_reports_copies_whose_key_is_gone_keeps_them_and_fails_after_the_rest(
    settings, old_key, workspace, stored, caplog
):
    gone = Fernet(new_key().encode())
    orphan = next(iter(stored.values()))
    orphan_ciphertext = gone.encrypt(b"kww_lost").decode()
    Token.objects.filter(pk=orphan.pk).update(encrypted_secret=orphan_ciphertext)
    newest = new_key()
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [newest, old_key]

    out = io.StringIO()
    with pytest.raises(CommandError, match="1 copies were encrypted with a key that is no longer"):
        call_command("rotate_token_encryption_keys", stdout=out)

    assert "Re-encrypted 1 stored token copies." in out.getvalue()
    assert f"No configured key decrypts the copy of token {orphan.public_id}." in caplog.text
    orphan.refresh_from_db()
    assert orphan.encrypted_secret == orphan_ciphertext  # untouched, in case the key comes back
    other_secret, other = list(stored.items())[1]
    other.refresh_from_db()
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [newest]
    assert vault.decrypt(other.encrypted_secret) == other_secret


def test_the_command_without_keys_does_nothing(settings, stored):
    before = {t.pk: t.encrypted_secret for t in stored.values()}
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = []

    out, err = run_rotate()

    assert "No encryption keys are configured. Nothing to do." in out
    assert err == ""
    assert {t.pk: t.encrypted_secret for t in Token.objects.all()} == before


def test_the_command_is_idempotent(settings, old_key, stored):
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [new_key(), old_key]
    run_rotate()

    out, err = run_rotate()

    assert "Re-encrypted 2 stored token copies." in out
    assert err == ""
    for secret, token in stored.items():
        token.refresh_from_db()
        assert vault.decrypt(token.encrypted_secret) == secret


# Copies of tokens that no longer work ---------------------------------------------------------


def expire(token: Token) -> None:
    Token.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


def test_the_hourly_job_erases_the_copies_of_expired_tokens(stored):
    expired, alive = stored.values()
    expire(expired)
    out = io.StringIO()

    call_command("send_expiry_reminders", stdout=out)

    assert "Erased the stored copies of 1 expired token(s)." in out.getvalue()
    expired.refresh_from_db()
    alive.refresh_from_db()
    assert expired.encrypted_secret == ""
    assert alive.encrypted_secret


def test_key_rotation_erases_the_copies_of_expired_tokens_instead_of_reencrypting_them(
    settings, old_key, stored
):
    expired, _ = stored.values()
    expire(expired)
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [new_key(), old_key]

    out, _ = run_rotate()

    assert "Re-encrypted 1 stored token copies." in out
    assert "Erased the copies of 1 tokens that no longer work." in out
    expired.refresh_from_db()
    assert expired.encrypted_secret == ""


def test_a_rotated_token_in_its_grace_period_is_not_touched(stored, admin_user, workspace):
    old = next(iter(stored.values()))
    Token.objects.filter(pk=old.pk).update(revoked_at=timezone.now() + timedelta(hours=1))

    assert services.ended_copies_erase() == 0
    Token.objects.filter(pk=old.pk).update(revoked_at=timezone.now() - timedelta(seconds=1))
    assert services.ended_copies_erase() == 1


def test_the_rotation_command_names_a_malformed_key(settings, stored):
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = ["not-a-fernet-key"]

    out, _ = run_rotate()

    assert "Key 1 of KEYWARD_TOKEN_ENCRYPTION_KEYS is not a Fernet key" in out
    assert "Nothing to do." in out
