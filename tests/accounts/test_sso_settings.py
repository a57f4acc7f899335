"""Settings → Policies → Single sign-on: who may read and change it, and what a change needs."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY

from accounts import signin_limit, sudo
from accounts.models import AuditEvent, WorkspaceSingleSignOn
from accounts.roles import Role
from accounts.signin.sso import SSO_BACKEND
from tests.conftest import PASSWORD
from tests.factories import signed_in

pytestmark = pytest.mark.django_db
URL = "/w/acme/settings/sso/"


@pytest.fixture
def sso_configured(settings):
    """Configure an issuer (nothing here talks to it)."""
    settings.KEYWARD_OIDC_ISSUER = "https://issuer.invalid"
    settings.KEYWARD_OIDC_CLIENT_ID = "keyward"
    settings.KEYWARD_OIDC_CLIENT_SECRET = "secret"


def values(**changes) -> dict:
    return {
        "jit_enabled": "on",
        "jit_domains": "Example.org\n@example.net",
        "jit_role": "manager",
        "break_glass_admin": "",
        "password": PASSWORD,
    } | changes


def sso_session(client) -> None:
    """Mark the client's session as signed in through SSO."""
    session = client.session
    session[BACKEND_SESSION_KEY] = SSO_BACKEND
    session.save()


def test_an_admin_changes_single_sign_on_after_confirming_the_password(admin_user, workspace):
    client = signed_in(admin_user)
    response = client.post(URL, values())
    assert response.status_code == 302
    config = WorkspaceSingleSignOn.objects.get(workspace=workspace)
    assert config.jit_enabled and config.jit_domains == ["example.org", "example.net"]
    assert config.jit_role == Role.MANAGER
    event = AuditEvent.objects.get(action="policy.sso_updated")
    assert event.workspace == workspace and event.actor_user == admin_user
    assert event.details["changed"]["jit_domains"]["to"] == ["example.org", "example.net"]
    assert AuditEvent.objects.filter(action="sudo.confirmed").count() == 1


def test_a_wrong_password_changes_nothing(admin_user, workspace):
    response = signed_in(admin_user).post(URL, values(password="wrong"))
    assert response.status_code == 200
    assert "This is not your password." in response.content.decode()
    assert not WorkspaceSingleSignOn.objects.exists()


def test_no_password_is_asked_in_sudo_mode(admin_user, workspace):
    client = signed_in(admin_user)
    session = client.session
    session[sudo.SESSION_KEY] = time.time()
    session.save()
    page = client.get(URL).content.decode()
    assert 'name="password"' not in page
    assert client.post(URL, values(password="")).status_code == 302
    assert WorkspaceSingleSignOn.objects.get(workspace=workspace).jit_enabled


def test_a_manager_reads_but_may_not_change(manager_user, workspace):
    client = signed_in(manager_user)
    page = client.get(URL)
    assert page.status_code == 200
    assert "Only Admins can change single sign-on." in page.content.decode()
    assert client.post(URL, values()).status_code == 403
    assert not WorkspaceSingleSignOn.objects.exists()


def test_admin_is_never_the_jit_role(admin_user, workspace):
    response = signed_in(admin_user).post(URL, values(jit_role="admin"))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not WorkspaceSingleSignOn.objects.exists()


def test_a_bad_domain_is_named(admin_user, workspace):
    response = signed_in(admin_user).post(URL, values(jit_domains="example.org\nnot a domain"))
    assert "Not an email domain: not a domain." in response.content.decode()


def test_a_right_password_is_asked_once_even_if_the_settings_need_fixing(admin_user, workspace):
    client = signed_in(admin_user)
    response = client.post(URL, values(jit_domains="not a domain"))
    assert 'name="password"' not in response.content.decode()
    assert client.post(URL, values(password="")).status_code == 302


def test_a_wrong_password_is_checked_once(admin_user, workspace, settings):
    settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT = 2
    signed_in(admin_user).post(URL, values(jit_domains="not a domain", password="wrong"))
    by_account, _ = signin_limit.login_limiters()
    assert by_account.retry_after(admin_user.email) == 0  # one failure counted, not two


def test_jit_needs_a_domain(admin_user, workspace):
    response = signed_in(admin_user).post(URL, values(jit_domains=""))
    assert "Name at least one email domain." in response.content.decode()


def test_the_break_glass_account_must_be_an_admin(admin_user, member_user, workspace):
    response = signed_in(admin_user).post(URL, values(break_glass_admin=str(member_user.pk)))
    assert "Select a valid choice" in response.content.decode()


def test_sso_cannot_be_required_while_it_is_not_configured(admin_user, workspace, settings):
    settings.KEYWARD_OIDC_ISSUER = ""
    client = signed_in(admin_user)
    assert "Single sign-on is not configured" in client.get(URL).content.decode()
    client.post(URL, values(required="on", break_glass_admin=str(admin_user.pk)))
    assert not WorkspaceSingleSignOn.objects.filter(required=True).exists()


def test_requiring_sso_needs_a_way_back_for_the_admin(admin_user, workspace, sso_configured):
    client = signed_in(admin_user)
    response = client.post(URL, values(required="on"))
    assert "so that you cannot lock yourself out" in response.content.decode()
    assert not WorkspaceSingleSignOn.objects.filter(required=True).exists()
    # Named break-glass: allowed.
    client.post(URL, values(required="on", break_glass_admin=str(admin_user.pk)))
    config = WorkspaceSingleSignOn.objects.get(workspace=workspace)
    assert config.required and config.break_glass_admin == admin_user


def test_an_admin_signed_in_with_sso_may_require_it(admin_user, workspace, sso_configured):
    client = signed_in(admin_user)
    sso_session(client)
    assert client.post(URL, values(required="on")).status_code == 302
    assert WorkspaceSingleSignOn.objects.get(workspace=workspace).required


def test_the_policies_tab_summarises_and_links(admin_user, member_user, workspace, sso_configured):
    WorkspaceSingleSignOn.objects.create(
        workspace=workspace,
        required=True,
        break_glass_admin=admin_user,
        jit_enabled=True,
        jit_domains=["example.org"],
    )
    page = signed_in(admin_user).get("/w/acme/settings/policies/").content.decode()
    assert "Members must sign in with SSO; admin@example.com may still use a password" in page
    assert "People at example.org join as Member" in page
    assert f'href="{URL}">Change single sign-on' in page
    member = signed_in(member_user)
    sso_session(member)  # Acme requires SSO
    page = member.get("/w/acme/settings/policies/").content.decode()
    assert f'href="{URL}">View single sign-on' in page


def test_an_admin_without_a_password_is_told_how_to_confirm(admin_user, workspace):
    admin_user.set_unusable_password()
    admin_user.save()
    page = signed_in(admin_user).get(URL).content.decode()
    assert "Your account has no password yet" in page
    assert 'href="/accounts/password/reset/"' in page
