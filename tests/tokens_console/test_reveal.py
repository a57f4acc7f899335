"""The retrievable reveal policy: which tokens keep an encrypted copy, sudo mode before a
reveal or copy, who may reveal what, and where the secret must never show up."""

from __future__ import annotations

import json
import re
import time

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import signin_limit, sudo
from accounts.models import AuditEvent
from accounts.signin_limit import login_limiters
from tests.accounts.otp import enrol_totp, totp
from tests.conftest import PASSWORD
from tests.factories import HTMX, actor_of, issue, signed_in, stamp_sudo
from tests.tokens_console.conftest import errors_of, field_of, parse
from tokens import services, vault
from tokens.models import RevealPolicy, Token, TokenKind, WorkspacePolicy
from tokens.services import policies

pytestmark = pytest.mark.django_db

SUDO_MINUTES = 10


def url(name: str, token: Token | None = None, slug: str = "acme") -> str:
    kwargs = {"slug": slug}
    if token is not None:
        kwargs["public_id"] = token.public_id
    return reverse(f"tokens:{name}", kwargs=kwargs)


def set_reveal_policy(workspace, value: str) -> None:
    """Set the policy directly, without the side effects of policy_update."""
    policy = services.workspace_policy(workspace)
    policy.reveal_policy = value
    policy.save()


def revealed_secret(response) -> str | None:
    """Return the secret a response's dialog carries, or None."""
    code = parse(response).find("code", **{"data-secret-code": ""})
    return code.attrs["data-secret"] if code is not None else None


def password_input(response):
    dom = parse(response)
    return next(
        (n for n in dom.find_all("input") if n.attrs.get("name") == "password"),
        None,
    )


def is_full_page(response) -> bool:
    return "<html" in response.content.decode()


def reveals() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="token.revealed").order_by("pk"))


def no_store(response) -> bool:
    cache_control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    return {"no-store", "private"} <= cache_control


@pytest.fixture
def stored(retrievable, manager_user, workspace) -> tuple[Token, str]:
    """Return the workspace token ci-deploy (by the Manager) whose copy is kept, with its secret."""
    token, secret = issue(manager_user, workspace, "ci-deploy")
    assert token.encrypted_secret
    return token, secret


@pytest.fixture
def stored_personal(retrievable, workspace, admin_user, manager_user, member_user) -> dict:
    """Return (token, secret) of a personal token with a kept copy per owner's fixture name."""
    return {
        "admin_user": issue(admin_user, workspace, "ada-laptop", kind=TokenKind.PERSONAL),
        "manager_user": issue(manager_user, workspace, "max-laptop", kind=TokenKind.PERSONAL),
        "member_user": issue(member_user, workspace, "mia-laptop", kind=TokenKind.PERSONAL),
    }


# Which tokens keep a copy ----------------------------------------------------------------


def test_a_token_issued_under_retrievable_keeps_an_encrypted_copy(stored):
    token, secret = stored
    token.refresh_from_db()

    assert token.encrypted_secret
    assert secret not in token.encrypted_secret
    assert vault.decrypt(token.encrypted_secret) == secret


def test_a_token_issued_under_show_once_keeps_no_copy(workspace, manager_user):
    assert services.workspace_policy(workspace).reveal_policy == RevealPolicy.SHOW_ONCE

    token, _ = issue(manager_user, workspace, "ci-deploy")

    token.refresh_from_db()
    assert token.encrypted_secret == ""


def test_without_keys_retrievable_keeps_no_copy(settings, retrievable, workspace, manager_user):
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = []

    token, _ = issue(manager_user, workspace, "ci-deploy")

    token.refresh_from_db()
    assert token.encrypted_secret == ""


def _first_policy_lock_and_token_write(queries) -> tuple[int, int]:
    """Return the positions of the policy row lock and of the first token write or lock."""
    policy_table, token_table = WorkspacePolicy._meta.db_table, Token._meta.db_table
    sqls = [query["sql"] for query in queries.captured_queries]
    policy_lock = next(
        i
        for i, sql in enumerate(sqls)
        if policy_table in sql and sql.rstrip().endswith("FOR UPDATE")
    )
    token_write = next(
        i
        for i, sql in enumerate(sqls)
        if f'"{token_table}"' in sql.split(" WHERE ")[0]
        and (sql.startswith(("UPDATE", "INSERT")) or sql.rstrip().endswith("FOR UPDATE"))
    )
    return policy_lock, token_write


@pytest.mark.parametrize("action", ["create", "rotate"])
def test_issuing_locks_the_policy_before_any_token_row(
    retrievable, workspace, manager_user, action
):
    """A switch to show once cannot miss a new copy, nor deadlock with the issue.

    policy_update locks the policy row, then erases copies; issuing must take the
    same locks in the same order.
    """
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite has no row locks; it serialises writers instead.")
    token, _ = issue(manager_user, workspace, "ci-deploy")
    with CaptureQueriesContext(connection) as queries:
        if action == "create":
            issue(manager_user, workspace, "nightly")
        else:
            services.token_rotate(actor=actor_of(manager_user, workspace), token=token)

    policy_lock, token_write = _first_policy_lock_and_token_write(queries)
    assert policy_lock < token_write


def test_rotation_under_retrievable_keeps_a_copy_of_the_new_token(stored, manager_user, workspace):
    token, old_secret = stored

    new, new_secret = services.token_rotate(
        actor=actor_of(manager_user, workspace), token=token, grace="1h"
    )

    new.refresh_from_db()
    assert new_secret != old_secret
    assert vault.decrypt(new.encrypted_secret) == new_secret


def test_rotation_erases_the_copy_of_the_replaced_token(stored, manager_user, workspace):
    token, _ = stored

    services.token_rotate(actor=actor_of(manager_user, workspace), token=token, grace="1h")

    token.refresh_from_db()
    assert token.encrypted_secret == ""


def test_revoking_erases_the_copy(stored, manager_user, workspace):
    token, _ = stored

    services.token_revoke(actor=actor_of(manager_user, workspace), token=token)

    token.refresh_from_db()
    assert token.encrypted_secret == ""


def test_the_reveal_buttons_show_only_for_rows_with_a_copy(
    retrievable, stored, admin_client, settings, workspace, manager_user
):
    token, _ = stored
    without_copy, _ = issue(manager_user, workspace, "no-copy")
    Token.objects.filter(pk=without_copy.pk).update(encrypted_secret="")
    dom = parse(admin_client.get(url("list")))

    assert dom.find(id=f"reveal-{token.public_id}") is not None
    assert dom.find(id=f"copy-{token.public_id}") is not None
    assert dom.find(id=f"reveal-{without_copy.public_id}") is None
    assert dom.find(id=f"copy-{without_copy.public_id}") is None


def test_the_page_and_the_new_token_dialog_say_the_value_can_be_revealed_again(
    retrievable, admin_client
):
    intro = parse(admin_client.get(url("list"))).text()
    response = admin_client.post(
        url("create"),
        {"name": "deploy-bot", "kind": TokenKind.WORKSPACE, "preset": "read", "expiration": "30"},
        **HTMX,
    )

    assert "keeps an encrypted copy of new tokens" in intro
    assert "shown once" not in intro
    text = parse(response).text()
    assert "you can reveal it again from the list" in text
    assert "will not show this token again" not in text


def test_under_show_once_the_page_and_the_dialog_say_the_value_is_shown_once(admin_client):
    intro = parse(admin_client.get(url("list"))).text()
    response = admin_client.post(
        url("create"),
        {"name": "deploy-bot", "kind": TokenKind.WORKSPACE, "preset": "read", "expiration": "30"},
        **HTMX,
    )

    assert "a token's value is shown once" in intro
    assert "will not show this token again" in parse(response).text()


def test_without_usable_keys_no_reveal_is_offered_and_the_page_says_shown_once(
    stored, admin_client, settings
):
    token, _ = stored
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = ["not-a-fernet-key"]

    dom = parse(admin_client.get(url("list")))

    assert dom.find(id=f"reveal-{token.public_id}") is None
    assert dom.find(id=f"copy-{token.public_id}") is None
    assert "a token's value is shown once" in dom.text()


def test_switching_to_show_once_erases_every_copy_and_hides_the_buttons(
    stored, stored_personal, admin_user, admin_client, workspace
):
    token, _ = stored
    grace_token, _ = issue(admin_user, workspace, "graceful")
    services.token_rotate(actor=actor_of(admin_user, workspace), token=grace_token, grace="7d")
    assert (
        Token.objects.exclude(encrypted_secret="").count() == 5
    )  # the rotated-out token gave up its copy
    before = parse(admin_client.get(url("list")))
    assert before.find(id=f"reveal-{token.public_id}") is not None

    change = policies.policy_update(
        actor=actor_of(admin_user, workspace),
        workspace=workspace,
        max_lifetime_days=None,
        allow_never_expiring=True,
        members_may_create_personal=True,
        reveal_policy=RevealPolicy.SHOW_ONCE,
    )

    assert change.erased_copies == 5
    assert not Token.objects.exclude(encrypted_secret="").exists()
    page = admin_client.get(url("list")).content.decode()
    assert 'id="reveal-' not in page
    assert 'id="copy-' not in page


def test_switching_to_show_once_leaves_other_workspaces_copies_alone(
    stored, admin_user, workspace, other_workspace, outsider
):
    set_reveal_policy(other_workspace, RevealPolicy.RETRIEVABLE)
    foreign, secret = issue(outsider, other_workspace, "globex-ci")

    policies.policy_update(
        actor=actor_of(admin_user, workspace),
        workspace=workspace,
        max_lifetime_days=None,
        allow_never_expiring=True,
        members_may_create_personal=True,
        reveal_policy=RevealPolicy.SHOW_ONCE,
    )

    foreign.refresh_from_db()
    assert vault.decrypt(foreign.encrypted_secret) == secret


# Sudo mode -------------------------------------------------------------------------------


@pytest.fixture(params=[False, True], ids=["plain", "htmx"])
def htmx(request) -> dict:
    """Send the request as a plain form post or as HTMX."""
    return HTMX if request.param else {}


def test_the_first_reveal_asks_for_the_password_and_carries_no_secret(stored, admin_client, htmx):
    token, secret = stored

    response = admin_client.post(url("reveal", token), {"purpose": "reveal"}, **htmx)

    assert response.status_code == 200
    assert is_full_page(response) == (not htmx)
    assert password_input(response) is not None
    assert "Confirm your password" in response.content.decode()
    assert secret not in response.content.decode()
    assert revealed_secret(response) is None
    assert reveals() == []
    assert sudo.SESSION_KEY not in admin_client.session
    # The dialog posts back to the same URL and keeps the purpose.
    form = parse(response).find("form", action=url("reveal", token))
    assert form is not None
    purpose = next(n for n in form.find_all("input") if n.attrs.get("name") == "purpose")
    assert purpose.attrs["value"] == "reveal"


def test_a_wrong_password_shows_an_error_next_to_the_field_and_no_secret(
    stored, admin_client, admin_user, settings, htmx
):
    token, secret = stored
    settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT = 1
    account_limiter, _ = login_limiters()
    assert account_limiter.retry_after(admin_user.email) == 0

    response = admin_client.post(
        url("reveal", token), {"purpose": "reveal", "password": "wrong"}, **htmx
    )

    assert response.status_code == 200
    assert is_full_page(response) == (not htmx)
    field = field_of(parse(response), "password")
    assert "This is not your password." in errors_of(field)
    assert secret not in response.content.decode()
    assert reveals() == []
    assert not AuditEvent.objects.filter(action="sudo.confirmed").exists()
    assert sudo.SESSION_KEY not in admin_client.session
    # The failure counts against the account, like a failed sign-in.
    assert account_limiter.retry_after(admin_user.email) > 0


def test_too_many_wrong_passwords_refuse_even_the_right_one(
    stored, admin_client, admin_user, settings, htmx
):
    token, secret = stored
    for _ in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT):
        admin_client.post(url("reveal", token), {"purpose": "reveal", "password": "nope"}, **htmx)

    response = admin_client.post(
        url("reveal", token), {"purpose": "reveal", "password": PASSWORD}, **htmx
    )

    assert "Too many wrong passwords" in errors_of(field_of(parse(response), "password"))
    assert secret not in response.content.decode()
    assert reveals() == []
    assert sudo.SESSION_KEY not in admin_client.session


def test_while_redis_is_down_the_password_prompt_asks_to_try_again(
    redis_cache, stored, admin_client, htmx
):
    token, secret = stored
    redis_cache.stop()

    response = admin_client.post(
        url("reveal", token), {"purpose": "reveal", "password": PASSWORD}, **htmx
    )

    assert response.status_code == 200
    assert signin_limit.UNAVAILABLE_MESSAGE in errors_of(field_of(parse(response), "password"))
    assert secret not in response.content.decode()
    assert sudo.SESSION_KEY not in admin_client.session


def test_wrong_sudo_passwords_also_lock_sign_in(stored, admin_user, settings):
    token, _ = stored
    client = signed_in(admin_user)
    for _ in range(settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT):
        client.post(url("reveal", token), {"purpose": "reveal", "password": "nope"})

    response = Client().post(
        reverse("accounts:login"), {"username": admin_user.email, "password": PASSWORD}
    )

    assert response.status_code == 200  # the form again, not a redirect into the console
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_the_right_password_reveals_the_secret_once_audited(stored, admin_client, admin_user, htmx):
    token, secret = stored

    response = admin_client.post(
        url("reveal", token), {"purpose": "reveal", "password": PASSWORD}, **htmx
    )

    assert response.status_code == 200
    assert is_full_page(response) == (not htmx)
    assert revealed_secret(response) == secret
    assert no_store(response)
    events = reveals()
    assert len(events) == 1
    assert events[0].details["purpose"] == "reveal"
    assert events[0].actor_user == admin_user
    assert events[0].target_id == token.public_id
    assert events[0].workspace == token.workspace
    assert AuditEvent.objects.filter(action="sudo.confirmed", actor_user=admin_user).count() == 1
    stamp = admin_client.session[sudo.SESSION_KEY]
    assert 0 <= time.time() - stamp < 60


def test_a_code_from_the_authenticator_app_reveals_instead_of_the_password(
    stored, admin_client, admin_user, htmx
):
    token, secret = stored
    key, _ = enrol_totp(admin_user)
    prompt = admin_client.post(url("reveal", token), {"purpose": "reveal"}, **htmx)
    assert "Or a code from your authenticator app" in prompt.content.decode()

    wrong = admin_client.post(url("reveal", token), {"purpose": "reveal", "code": "000000"}, **htmx)
    assert revealed_secret(wrong) is None
    assert "That code is not right" in wrong.content.decode()

    response = admin_client.post(
        url("reveal", token), {"purpose": "reveal", "code": totp(key, steps_off=1)}, **htmx
    )
    assert revealed_secret(response) == secret
    confirmed = AuditEvent.objects.get(action="sudo.confirmed", actor_user=admin_user)
    assert confirmed.details == {"method": "totp"}


def test_a_second_reveal_within_ten_minutes_needs_no_password(stored, admin_client, htmx):
    token, secret = stored
    admin_client.post(url("reveal", token), {"purpose": "reveal", "password": PASSWORD}, **htmx)
    stamp_sudo(admin_client, seconds_ago=SUDO_MINUTES * 60 - 30)

    response = admin_client.post(url("reveal", token), {"purpose": "copy"}, **htmx)

    assert revealed_secret(response) == secret
    assert password_input(response) is None
    assert no_store(response)
    assert [e.details["purpose"] for e in reveals()] == ["reveal", "copy"]
    assert AuditEvent.objects.filter(action="sudo.confirmed").count() == 1


def test_after_ten_minutes_the_password_is_asked_again(stored, admin_client, htmx):
    token, secret = stored
    admin_client.post(url("reveal", token), {"purpose": "reveal", "password": PASSWORD}, **htmx)
    stamp_sudo(admin_client, seconds_ago=SUDO_MINUTES * 60 + 60)

    response = admin_client.post(url("reveal", token), {"purpose": "reveal"}, **htmx)

    assert password_input(response) is not None
    assert secret not in response.content.decode()
    assert len(reveals()) == 1


def test_a_stamp_from_the_future_does_not_count_as_sudo(stored, admin_client):
    token, secret = stored
    stamp_sudo(admin_client, seconds_ago=-3600)

    response = admin_client.post(url("reveal", token), {"purpose": "reveal"})

    assert password_input(response) is not None
    assert secret not in response.content.decode()


def test_sudo_mode_lasts_as_configured(stored, admin_client, settings):
    token, _ = stored
    assert settings.KEYWARD_SUDO_SECONDS == SUDO_MINUTES * 60
    settings.KEYWARD_SUDO_SECONDS = 60
    stamp_sudo(admin_client, seconds_ago=120)

    response = admin_client.post(url("reveal", token), {"purpose": "reveal"})

    assert password_input(response) is not None


@pytest.mark.parametrize(
    ("purpose", "attribute", "audited"),
    [
        ("reveal", "data-show-on-load", "reveal"),
        ("copy", "data-copy-on-load", "copy"),
        ("something-else", "data-show-on-load", "reveal"),
    ],
)
def test_the_purpose_decides_what_the_dialog_does_on_load(
    stored, admin_client, purpose, attribute, audited
):
    token, secret = stored
    other = {"data-show-on-load", "data-copy-on-load"} - {attribute}

    response = admin_client.post(
        url("reveal", token), {"purpose": purpose, "password": PASSWORD}, **HTMX
    )

    box = parse(response).find("div", **{"data-reveal": ""})
    assert box is not None
    assert attribute in box.attrs
    assert not other & set(box.attrs)
    assert revealed_secret(response) == secret
    assert [e.details["purpose"] for e in reveals()] == [audited]


def test_the_password_dialog_keeps_the_copy_purpose(stored, admin_client):
    token, _ = stored

    response = admin_client.post(url("reveal", token), {"purpose": "copy"}, **HTMX)

    purpose = next(n for n in parse(response).find_all("input") if n.attrs.get("name") == "purpose")
    assert purpose.attrs["value"] == "copy"
    assert "To copy" in response.content.decode()


# Who may reveal --------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin_user", "manager_user"])
def test_admins_and_managers_may_reveal_a_workspace_token(request, stored, who):
    token, secret = stored
    client = signed_in(request.getfixturevalue(who))

    response = client.post(url("reveal", token), {"purpose": "reveal", "password": PASSWORD})

    assert revealed_secret(response) == secret


def test_a_member_may_not_reveal_a_workspace_token_even_in_sudo_mode(stored, member_client):
    token, secret = stored
    stamp_sudo(member_client)

    response = member_client.post(url("reveal", token), {"purpose": "reveal"}, **HTMX)

    assert response.status_code == 403
    assert secret not in response.content.decode()
    assert reveals() == []


def test_a_member_is_refused_before_being_asked_for_a_password(stored, member_client):
    token, _ = stored

    response = member_client.post(url("reveal", token), {"purpose": "reveal", "password": PASSWORD})

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="sudo.confirmed").exists()
    assert sudo.SESSION_KEY not in member_client.session


@pytest.mark.parametrize("owner", ["admin_user", "manager_user", "member_user"])
def test_the_owner_may_reveal_their_personal_token(request, stored_personal, owner):
    token, secret = stored_personal[owner]
    client = signed_in(request.getfixturevalue(owner))

    response = client.post(url("reveal", token), {"purpose": "copy", "password": PASSWORD})

    assert response.status_code == 200
    assert revealed_secret(response) == secret
    assert [e.details["purpose"] for e in reveals()] == ["copy"]


@pytest.mark.parametrize(
    ("who", "owner"),
    [
        ("manager_user", "admin_user"),
        ("admin_user", "manager_user"),
        ("admin_user", "member_user"),
        ("member_user", "manager_user"),
    ],
)
def test_nobody_may_reveal_someone_elses_personal_token(request, stored_personal, who, owner):
    token, secret = stored_personal[owner]
    client = signed_in(request.getfixturevalue(who))
    stamp_sudo(client)

    response = client.post(url("reveal", token), {"purpose": "reveal"})

    # Managers and Admins see the token (403); Members do not even see it (404).
    assert response.status_code == (404 if who == "member_user" else 403)
    assert secret not in response.content.decode()
    assert reveals() == []


def test_the_reveal_buttons_follow_who_may_reveal(
    stored, stored_personal, admin_client, member_client
):
    token, _ = stored
    admin_page = parse(admin_client.get(url("list")))
    member_page = parse(member_client.get(url("list")))

    assert admin_page.find(id=f"copy-{token.public_id}") is not None
    assert admin_page.find(id=f"copy-{stored_personal['admin_user'][0].public_id}") is not None
    assert admin_page.find(id=f"copy-{stored_personal['manager_user'][0].public_id}") is None
    assert member_page.find(id=f"copy-{token.public_id}") is None
    assert member_page.find(id=f"copy-{stored_personal['member_user'][0].public_id}") is not None


def test_an_outsider_gets_404(stored, outsider):
    token, secret = stored
    client = signed_in(outsider)
    stamp_sudo(client)

    response = client.post(url("reveal", token), {"purpose": "reveal", "password": PASSWORD})

    assert response.status_code == 404
    assert secret not in response.content.decode()
    assert reveals() == []


def test_an_anonymous_visitor_is_sent_to_sign_in(stored, client):
    token, secret = stored

    response = client.post(url("reveal", token), {"purpose": "reveal", "password": PASSWORD})

    assert response.status_code == 302
    assert reverse("accounts:login") in response["Location"]
    assert secret not in response.content.decode()
    assert reveals() == []


def test_a_token_of_another_workspace_is_404(retrievable, admin_client, foreign_token):
    stamp_sudo(admin_client)

    response = admin_client.post(url("reveal", foreign_token), {"purpose": "reveal"})

    assert response.status_code == 404
    assert reveals() == []


def test_get_is_not_allowed(stored, admin_client):
    token, secret = stored
    stamp_sudo(admin_client)

    response = admin_client.get(url("reveal", token), {"purpose": "reveal"})

    assert response.status_code == 405
    assert secret not in response.content.decode()
    assert reveals() == []


def test_csrf_is_enforced(stored, admin_user):
    token, secret = stored
    client = signed_in(admin_user, enforce_csrf_checks=True)
    page = client.get(url("list")).content.decode()
    header = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    data = {"purpose": "reveal", "password": PASSWORD}

    refused = client.post(url("reveal", token), data, **HTMX)

    assert refused.status_code == 403
    assert secret not in refused.content.decode()
    assert sudo.SESSION_KEY not in client.session
    assert reveals() == []
    accepted = client.post(url("reveal", token), data, **HTMX, HTTP_X_CSRFTOKEN=header)
    assert revealed_secret(accepted) == secret


def test_the_row_form_carries_its_csrf_field(stored, admin_user):
    token, secret = stored
    client = signed_in(admin_user, enforce_csrf_checks=True)
    row_form = parse(client.get(url("list"))).find("form", action=url("reveal", token))
    csrf = next(
        n for n in row_form.find_all("input") if n.attrs.get("name") == "csrfmiddlewaretoken"
    )

    response = client.post(
        url("reveal", token),
        {"purpose": "copy", "password": PASSWORD, "csrfmiddlewaretoken": csrf.attrs["value"]},
    )

    assert revealed_secret(response) == secret


# When there is nothing to reveal ---------------------------------------------------------


def test_under_show_once_a_reveal_gives_an_error_not_a_secret(
    stored, admin_client, admin_user, workspace, htmx
):
    token, secret = stored
    set_reveal_policy(workspace, RevealPolicy.SHOW_ONCE)  # the copy is still there
    stamp_sudo(admin_client)

    response = admin_client.post(url("reveal", token), {"purpose": "reveal"}, **htmx)

    assert response.status_code == 200
    assert "This workspace shows tokens only once." in response.content.decode()
    assert revealed_secret(response) is None
    assert secret not in response.content.decode()
    assert reveals() == []


def test_a_revoked_token_cannot_be_revealed(stored, admin_client, admin_user, workspace):
    token, secret = stored
    # Rotation without grace stops the old token at once (it keeps its row, and its copy).
    services.token_rotate(actor=actor_of(admin_user, workspace), token=token, grace="none")
    stamp_sudo(admin_client)

    response = admin_client.post(url("reveal", token), {"purpose": "reveal"})

    assert response.status_code == 200
    assert "This token no longer works." in response.content.decode()
    assert revealed_secret(response) is None
    assert secret not in response.content.decode()
    assert reveals() == []


def test_a_copy_whose_key_is_gone_gives_an_error_not_a_500(stored, admin_client, settings):
    token, secret = stored
    settings.KEYWARD_TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    stamp_sudo(admin_client)

    response = admin_client.post(url("reveal", token), {"purpose": "reveal"}, **HTMX)

    assert response.status_code == 200
    assert "No configured key decrypts this token" in response.content.decode()
    assert secret not in response.content.decode()
    assert revealed_secret(response) is None
    assert reveals() == []


# The secret stays out of everything else -------------------------------------------------


def test_the_secret_never_appears_in_the_list_page_or_the_audit_log(
    stored, stored_personal, admin_client, admin_user, manager_user, member_user
):
    token, secret = stored
    secrets_ = [secret] + [s for _, s in stored_personal.values()]
    ciphertexts = list(
        Token.objects.exclude(encrypted_secret="").values_list("encrypted_secret", flat=True)
    )
    for user, target in [
        (admin_user, token),
        (admin_user, stored_personal["admin_user"][0]),
        (manager_user, stored_personal["manager_user"][0]),
        (member_user, stored_personal["member_user"][0]),
    ]:
        client = signed_in(user)
        for purpose in ("reveal", "copy"):
            client.post(url("reveal", target), {"purpose": purpose, "password": PASSWORD})

        for page in (client.get(url("list")), client.get(url("list"), **HTMX)):
            html = page.content.decode()
            assert not [s for s in secrets_ if s in html]
            assert not [c for c in ciphertexts if c in html]
            assert "data-secret=" not in html

    assert len(reveals()) == 8
    for event in AuditEvent.objects.all():
        recorded = json.dumps(
            [event.details, event.target_label, event.actor_label, event.user_agent],
            default=str,
        )
        assert not [s for s in secrets_ if s in recorded], event.action
        assert not [s[4:] for s in secrets_ if s[4:] in recorded], event.action
        assert not [c for c in ciphertexts if c in recorded], event.action
