"""The management commands issue_token and revoke_token."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from accounts.models import AuditEvent, User
from tests.conftest import PASSWORD
from tests.factories import actor_of, issue
from tokens import secrets, services
from tokens.auth import AuthenticationFailed, authenticate_token
from tokens.models import RevokeReason, Token, TokenKind, TokenStatus

pytestmark = pytest.mark.django_db


# issue_token's arguments for the token ci in acme.
CI = ["--workspace", "acme", "--name", "ci", "--scopes", "tokens:read"]


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# issue_token --------------------------------------------------------------------


def test_issue_token_prints_a_token_that_authenticates(workspace, clock):
    out, err = run(
        "issue_token",
        "--workspace",
        "acme",
        "--name",
        "ci",
        "--scopes",
        "tokens:read, workspace:read",
        "--expires-in",
        "30",
    )

    secret = out.strip()
    assert out == secret + "\n"  # stdout holds the secret alone, for scripts
    principal = authenticate_token(secret)
    token = Token.objects.get(public_id=principal.public_id)
    assert token.name == "ci"
    assert token.kind == TokenKind.WORKSPACE
    assert token.workspace == workspace
    assert token.scopes == ["workspace:read", "tokens:read"]
    assert token.expires_at == clock.now + timedelta(days=30)
    assert token.public_id in err
    assert secret not in err


def test_issue_token_without_expiry_and_with_ip_ranges(workspace):
    out, _ = run(
        "issue_token",
        "--workspace",
        "acme",
        "--name",
        "ci",
        "--scopes",
        "tokens:read",
        "--allowed-ips",
        "10.0.0.0/8,192.0.2.1",
    )

    token = Token.objects.get(digest=secrets.digest(out.strip()))
    assert token.expires_at is None
    assert token.allowed_ips == ["10.0.0.0/8", "192.0.2.1/32"]


def test_issue_token_is_audited_as_the_command_or_the_operator(workspace):
    operator = User.objects.create_superuser("ops@example.com", PASSWORD)

    run("issue_token", "--workspace", "acme", "--name", "a", "--scopes", "tokens:read")
    run(
        "issue_token",
        "--workspace",
        "acme",
        "--name",
        "b",
        "--scopes",
        "tokens:read",
        "--operator",
        " OPS@example.com ",  # read as sign-in reads it: trimmed, lower-cased
    )

    first, second = AuditEvent.objects.filter(action="token.created").order_by("id")
    assert (first.actor_user, first.actor_label) == (None, "manage.py issue_token")
    assert (second.actor_user, second.actor_label) == (operator, "ops@example.com")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--workspace", "nowhere"], "nowhere"),
        (["--scopes", "packages:upload"], "Unknown scope"),
        (["--expires-in", "0"], "--expires-in"),
        (["--allowed-ips", "not-an-ip"], "not-an-ip"),
        (["--operator", "ghost@example.com"], "ghost@example.com"),
    ],
)
def test_issue_token_refuses_bad_input(workspace, args, message):
    defaults = {"--workspace": "acme", "--name": "ci", "--scopes": "tokens:read"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [part for pair in {**defaults, **given}.items() for part in pair]

    with pytest.raises(CommandError, match=message):
        run("issue_token", *argv)

    assert not Token.objects.exists()


def test_issue_token_follows_the_workspace_policy(workspace):
    policy = services.workspace_policy(workspace)
    policy.max_lifetime_days = 7
    policy.save()

    with pytest.raises(CommandError, match="7 days"):
        run("issue_token", *CI, "--expires-in", "30")
    out, _ = run("issue_token", *CI, "--expires-in", "7")

    assert authenticate_token(out.strip())


def test_issue_token_refuses_a_taken_name(workspace):
    run("issue_token", "--workspace", "acme", "--name", "ci", "--scopes", "tokens:read")

    with pytest.raises(CommandError, match="already named"):
        run("issue_token", "--workspace", "acme", "--name", "ci", "--scopes", "tokens:read")


CONSOLE_MAIL = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}


@pytest.mark.django_db(transaction=True)  # the "token created" email goes out on commit
@pytest.mark.parametrize("output", ["text", "json"])
def test_issue_token_prints_its_result_alone_even_with_the_console_email_backend(
    workspace, admin_user, settings, capsys, output
):
    settings.MAILERS = CONSOLE_MAIL
    call_command("issue_token", *CI, "--format", output)

    out, err = capsys.readouterr()
    assert "Subject:" in err  # the email to the Admins, where a person can still read it
    token = Token.objects.get()
    if output == "json":
        printed = json.loads(out)
        secret = printed.pop("token")
        assert printed == {
            "id": token.public_id,
            "name": "ci",
            "workspace": "acme",
            "scopes": ["tokens:read"],
            "expires_at": None,
        }
    else:
        secret = out.removesuffix("\n")
        assert "\n" not in secret
    assert authenticate_token(secret).public_id == token.public_id


@pytest.mark.parametrize("days", ["²", "①", "0", "3651", "9" * 5000])
def test_issue_token_reads_days_as_the_console_does(workspace, days):
    with pytest.raises(CommandError, match="--expires-in: takes a whole number of days"):
        run("issue_token", *CI, "--expires-in", days)

    assert not Token.objects.exists()


# revoke_token -------------------------------------------------------------------


@pytest.fixture
def token_and_secret(workspace, admin_user):
    return issue(admin_user, workspace, name="ci")


def test_revoke_token_by_public_id(token_and_secret):
    token, secret = token_and_secret

    out, _ = run("revoke_token", token.public_id)

    token.refresh_from_db()
    assert token.status() == TokenStatus.REVOKED
    assert token.revoke_reason == RevokeReason.OPERATOR
    assert f"{token.public_id} (ci, workspace acme) revoked." in out
    with pytest.raises(AuthenticationFailed):
        authenticate_token(secret)
    event = AuditEvent.objects.get(action="token.revoked")
    assert event.actor_label == "manage.py revoke_token"
    assert event.details["reason"] == "operator"


def test_revoke_token_by_value_with_a_leak_reason(token_and_secret):
    token, secret = token_and_secret

    out, _ = run("revoke_token", f"  {secret} ", "--reason", "leak")

    token.refresh_from_db()
    assert token.revoke_reason == RevokeReason.LEAK
    assert secret not in out
    with pytest.raises(AuthenticationFailed):
        authenticate_token(secret)


def test_revoke_token_as_leaked_is_the_one_leak_action(
    token_and_secret, mailoutbox, django_capture_on_commit_callbacks
):
    token, secret = token_and_secret

    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run("revoke_token", secret, "--reason", "leak")

    assert out == (
        f"{token.public_id} (ci, workspace acme) revoked as leaked. Emailing admin@example.com.\n"
    )
    event = AuditEvent.objects.get(action="token.revoked")
    assert (event.details["reason"], event.details["found_by"]) == ("leak", "operator")
    assert [message.to for message in mailoutbox] == [["admin@example.com"]]
    assert "reported as exposed and revoked" in mailoutbox[0].subject


def test_revoke_token_as_leaked_leaves_a_revoked_token_alone(
    workspace, admin_user, token_and_secret, mailoutbox
):
    token, _ = token_and_secret
    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)

    out, _ = run("revoke_token", token.public_id, "--reason", "leak")

    assert out.endswith("was already revoked; nothing changed.\n")
    assert mailoutbox == []


def test_revoking_an_expired_token_says_it_had_expired(token_and_secret, clock):
    token, _ = token_and_secret
    Token.objects.filter(pk=token.pk).update(expires_at=clock() - timedelta(days=1))

    out, _ = run("revoke_token", token.public_id)

    assert out.endswith("had expired; now it is revoked too.\n")
    token.refresh_from_db()
    assert token.revoke_reason == RevokeReason.OPERATOR


def test_revoke_token_ends_a_rotation_grace_at_once(workspace, admin_user, token_and_secret):
    token, secret = token_and_secret
    services.token_rotate(actor=actor_of(admin_user, workspace), token=token, grace="7d")

    run("revoke_token", token.public_id)

    with pytest.raises(AuthenticationFailed):
        authenticate_token(secret)


def test_revoking_an_inactive_token_says_so_and_changes_nothing(
    workspace, admin_user, token_and_secret
):
    token, _ = token_and_secret
    services.token_revoke(actor=actor_of(admin_user, workspace), token=token)
    before = AuditEvent.objects.count()

    out, _ = run("revoke_token", token.public_id)

    assert out.endswith("was already revoked; nothing changed.\n")
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "given", ["tok_doesnotexist0000", "garbage", lambda: secrets.generate("kw", "workspace")]
)
def test_revoke_token_refuses_an_unknown_token(token_and_secret, given):
    value = given() if callable(given) else given

    with pytest.raises(CommandError, match="No such token"):
        run("revoke_token", value)

    assert Token.objects.active().count() == 1


def test_revoke_token_refuses_other_reasons(token_and_secret):
    with pytest.raises(CommandError):
        run("revoke_token", token_and_secret[0].public_id, "--reason", "user")

    assert Token.objects.active().count() == 1
