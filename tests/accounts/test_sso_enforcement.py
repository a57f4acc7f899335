"""A workspace that requires single sign-on: its members' password sign-ins and sessions."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY
from django.test import Client

from accounts import signin_limit
from accounts.models import AuditEvent, Membership, WorkspaceSingleSignOn
from accounts.roles import Role
from accounts.signin.sso import SSO_BACKEND
from tests.conftest import PASSWORD, make_member
from tests.factories import HTMX, signed_in
from tests.oidc_provider import sign_in_through

pytestmark = pytest.mark.django_db
REFUSAL = "Acme requires single sign-on."


@pytest.fixture
def sso_configured(settings):
    """Configure an issuer (the password tests never talk to it)."""
    settings.KEYWARD_OIDC_ISSUER = "https://issuer.invalid"
    settings.KEYWARD_OIDC_CLIENT_ID = "keyward"
    settings.KEYWARD_OIDC_CLIENT_SECRET = "secret"


@pytest.fixture
def requires_sso(workspace, admin_user):
    """Make Acme require SSO, with its Admin as break-glass."""
    return WorkspaceSingleSignOn.objects.create(
        workspace=workspace, required=True, break_glass_admin=admin_user
    )


def password_sign_in(email: str, password: str = PASSWORD, url: str = "/accounts/login/", **data):
    client = Client()
    return client, client.post(url, {"username": email, "password": password, **data})


@pytest.mark.parametrize("password", [PASSWORD, "wrong-password"])
def test_the_password_form_refuses_a_member_whatever_the_password(
    sso_configured, requires_sso, member_user, password
):
    client, response = password_sign_in(member_user.email, password, next="/w/acme/")
    assert response.status_code == 200
    page = response.content.decode()
    assert REFUSAL in page
    assert 'href="/accounts/sso/login/?next=%2Fw%2Facme%2F">Sign in with SSO</a>' in page
    assert "do not match" not in page
    assert SESSION_KEY not in client.session
    event = AuditEvent.objects.get(action="signin.sso_required")
    assert event.actor_user == member_user and event.workspace == requires_sso.workspace


def test_the_refusal_counts_as_a_failed_sign_in(
    sso_configured, requires_sso, member_user, settings
):
    settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT = 1
    settings.KEYWARD_LOGIN_FAILURES_PER_IP = 1
    password_sign_in(member_user.email)
    by_account, by_ip = signin_limit.login_limiters()
    assert by_account.retry_after(member_user.email) > 0
    assert by_ip.retry_after("127.0.0.1") > 0


def test_the_break_glass_admin_signs_in_with_the_password(sso_configured, requires_sso, admin_user):
    client, response = password_sign_in(admin_user.email)
    assert response.status_code == 302
    assert client.session[SESSION_KEY] == str(admin_user.pk)
    event = AuditEvent.objects.get(action="signin.break_glass")
    assert event.workspace == requires_sso.workspace
    assert client.get("/w/acme/").status_code == 200  # and is not sent through SSO


def test_break_glass_ends_with_the_admin_role(sso_configured, requires_sso, admin_user):
    Membership.objects.filter(user=admin_user).update(role=Role.MANAGER)
    _, response = password_sign_in(admin_user.email)
    assert REFUSAL in response.content.decode()


def test_break_glass_in_one_workspace_is_not_in_another(
    sso_configured, requires_sso, admin_user, other_workspace
):
    Membership.objects.create(user=admin_user, workspace=other_workspace, role=Role.MEMBER)
    WorkspaceSingleSignOn.objects.create(workspace=other_workspace, required=True)
    _, response = password_sign_in(admin_user.email)
    assert "Globex requires single sign-on." in response.content.decode()


def test_the_admin_login_refuses_too(sso_configured, requires_sso, member_user):
    member_user.is_staff = True
    member_user.save()
    client, response = password_sign_in(member_user.email, url="/admin/login/?next=/admin/")
    assert REFUSAL in response.content.decode()
    assert SESSION_KEY not in client.session


def test_members_of_other_workspaces_still_use_their_password(
    sso_configured, requires_sso, outsider
):
    _, response = password_sign_in(outsider.email)
    assert response.status_code == 302


def test_nothing_is_enforced_while_sso_is_off(settings, requires_sso, member_user):
    settings.KEYWARD_OIDC_ISSUER = ""
    client, response = password_sign_in(member_user.email)
    assert response.status_code == 302
    assert client.get("/w/acme/").status_code == 200


def test_a_password_session_is_sent_through_sso_when_it_opens_the_workspace(
    sso_configured, requires_sso, member_user
):
    client = signed_in(member_user)  # signed in with the password before the policy
    response = client.get("/w/acme/settings/members/?page=1")
    assert response.status_code == 302
    assert response["Location"] == (
        "/accounts/sso/login/?next=%2Fw%2Facme%2Fsettings%2Fmembers%2F%3Fpage%3D1"
    )
    htmx = client.get("/w/acme/settings/members/", **HTMX)
    assert htmx["HX-Redirect"].startswith("/accounts/sso/login/")


def test_an_sso_session_opens_the_workspace(sso_configured, requires_sso, member_user):
    client = signed_in(member_user)
    session = client.session
    session[BACKEND_SESSION_KEY] = SSO_BACKEND
    session.save()
    assert client.get("/w/acme/").status_code == 200


def test_signing_in_again_with_sso_lets_the_session_in(oidc_provider, requires_sso, member_user):
    client = signed_in(member_user)
    assert client.get("/w/acme/").status_code == 302
    response = sign_in_through(client, next_url="/w/acme/")
    assert response["Location"] == "/w/acme/"
    assert client.session[BACKEND_SESSION_KEY] == SSO_BACKEND
    assert client.get("/w/acme/").status_code == 200


def test_the_signed_in_member_may_still_confirm_a_password(
    sso_configured, requires_sso, member_user, rf
):
    """Sudo mode checks the signed-in user's own password: not a sign-in, not refused."""
    request = rf.post("/")
    request.user = member_user
    request.session = {}
    assert signin_limit.confirm_password(request, member_user, PASSWORD) is None


def test_a_new_member_is_refused_from_the_start(sso_configured, requires_sso, workspace):
    make_member(workspace, "late@example.com", Role.MANAGER)
    _, response = password_sign_in("late@example.com")
    assert REFUSAL in response.content.decode()
