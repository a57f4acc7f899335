"""Django admin for sign-in: operators see a user's factors (never a secret), remove a lost
passkey or turn two-factor off through the console's services, and change a workspace's
two-factor and single sign-on policies under the console's rules."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.audit import audit_record
from accounts.models import AuditEvent, Passkey, RecoveryCode, User, WorkspaceSingleSignOn
from accounts.roles import Role
from accounts.signin import factors
from tests.accounts.otp import enrol_totp
from tests.conftest import PASSWORD, make_member
from tests.factories import signed_in

pytestmark = pytest.mark.django_db

PUBLIC_KEY = b"\xa5public-key-bytes-of-the-test"


def add_passkey(user: User, name: str, **fields) -> Passkey:
    return Passkey.objects.create(
        user=user,
        name=name,
        credential_id=f"credential-{name}".encode(),
        public_key=PUBLIC_KEY,
        user_handle=b"handle-" + str(user.pk).encode(),
        transports=fields.pop("transports", ["usb", "nfc"]),
        **fields,
    )


def user_page(client, user) -> str:
    response = client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert response.status_code == 200
    return response.content.decode()


def user_post(user, **extra) -> dict:
    """Return the user change form's POST data as the browser sends it, with `extra`."""
    passkeys = list(Passkey.objects.of(user))
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "is_active": "on",
        "passkeys-TOTAL_FORMS": str(len(passkeys)),
        "passkeys-INITIAL_FORMS": str(len(passkeys)),
    }
    for i, passkey in enumerate(passkeys):
        data[f"passkeys-{i}-id"] = str(passkey.pk)
        data[f"passkeys-{i}-user"] = str(user.pk)
    return data | extra


# The user's factors --------------------------------------------------------------------


def test_the_user_page_lists_factors_without_any_secret(operator_client, member_user):
    _, codes = enrol_totp(member_user)
    factors.recovery_code_use(member_user, codes[0])
    factors.recovery_code_use(member_user, codes[1])
    add_passkey(member_user, "YubiKey 5", transports=["usb", "nfc"])
    add_passkey(member_user, "Work laptop", transports=["internal"])
    audit_record(action="signin.sso", actor=member_user, details={"email": member_user.email})

    content = user_page(operator_client, member_user)

    assert "YubiKey 5" in content and "Work laptop" in content
    assert "usb" in content and "internal" in content
    assert "Authenticator app (TOTP)" in content and "set up " in content
    assert "8 of 10 unused" in content
    assert "last signed in with SSO" in content
    device = member_user.totp_device
    assert device.sealed_key not in content
    for digest in RecoveryCode.objects.values_list("digest", flat=True):
        assert digest not in content
    assert not any(code in content for code in codes)
    assert "credential-YubiKey" not in content and "public-key-bytes" not in content
    assert "cHVibGlj" not in content  # the public key in base64 neither


def test_the_user_page_says_when_nothing_is_set_up(operator_client, member_user):
    content = user_page(operator_client, member_user)

    assert "not set up" in content
    assert "never signed in with SSO" in content
    assert "Passkeys" in content


def test_removing_a_lost_passkey_goes_through_the_service(
    operator_client, member_user, django_capture_on_commit_callbacks
):
    lost = add_passkey(member_user, "Lost phone")
    kept = add_passkey(member_user, "YubiKey")
    data = user_post(member_user)
    data["passkeys-0-DELETE"] = "on"  # the oldest: the lost phone

    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            reverse("admin:accounts_user_change", args=[member_user.pk]),
            data,
            REMOTE_ADDR="198.51.100.4",
        )

    assert response.status_code == 302
    assert list(Passkey.objects.filter(user=member_user)) == [kept]
    event = AuditEvent.objects.get(action="factor.passkey_removed")
    assert event.actor_label == "operator@example.com"
    assert event.target_id == str(lost.pk)
    assert event.details == {"by_operator": True}
    [message] = mail.outbox
    assert message.to == [member_user.email]
    assert message.subject == "Keyward: a passkey was removed from your account"
    assert 'A passkey "Lost phone" was removed' in message.body
    assert "by a Keyward operator" in message.body
    assert "If you did not ask a Keyward operator for this" in message.body
    assert "198.51.100.4" not in message.body


def test_staff_without_the_delete_permission_cannot_remove_a_passkey(member_user):
    staff = User.objects.create_user("staff@example.com", PASSWORD, is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_user", "change_user", "view_passkey"])
    )
    passkey = add_passkey(member_user, "YubiKey")
    data = user_post(member_user) | {"passkeys-0-DELETE": "on"}

    signed_in(staff).post(reverse("admin:accounts_user_change", args=[member_user.pk]), data)

    assert Passkey.objects.filter(pk=passkey.pk).exists()
    assert not AuditEvent.objects.filter(action="factor.passkey_removed").exists()


def test_turning_off_two_factor_removes_passkeys_too(
    operator_client, member_user, django_capture_on_commit_callbacks
):
    enrol_totp(member_user)
    add_passkey(member_user, "Lost phone")

    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "turn_off_two_factor", "_selected_action": [member_user.pk]},
        )

    assert factors.methods(member_user) == []
    assert not factors.has_two_factor(member_user)
    event = AuditEvent.objects.get(action="factor.reset")
    assert event.details == {"methods": ["passkey", "totp", "recovery_code"]}
    [message] = mail.outbox
    assert "operator turned off two-factor" in message.subject


def test_staff_who_may_only_view_users_are_not_offered_the_reset(member_user):
    staff = User.objects.create_user("viewer@example.com", PASSWORD, is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename="view_user"))
    enrol_totp(member_user)

    client = signed_in(staff)
    listing = client.get(reverse("admin:accounts_user_changelist")).content.decode()
    client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "turn_off_two_factor", "_selected_action": [member_user.pk]},
    )

    assert "turn_off_two_factor" not in listing
    assert factors.has_two_factor(member_user)
    assert user_page(client, member_user)  # the factors are shown read-only


def test_the_user_list_shows_two_factor_in_a_constant_number_of_queries(operator_client, workspace):
    def listing_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = operator_client.get(reverse("admin:accounts_user_changelist"))
        assert response.status_code == 200
        return len(captured.captured_queries)

    first = make_member(workspace, "a@example.com", Role.MEMBER)
    add_passkey(first, "Key")
    few = listing_queries()
    for n in range(6):
        user = make_member(workspace, f"u{n}@example.com", Role.MEMBER)
        if n % 2:
            enrol_totp(user)
        else:
            add_passkey(user, f"Key {n}")
    assert listing_queries() == few

    listing = operator_client.get(reverse("admin:accounts_user_changelist"))
    shown = {user.email: user.has_factor for user in listing.context["cl"].result_list}
    # Passkey-only users have two-factor too; the operator has none.
    assert shown["a@example.com"] and shown["u0@example.com"] and shown["u1@example.com"]
    assert not shown["operator@example.com"]


# The workspace's policies -----------------------------------------------------------


def workspace_url(workspace) -> str:
    return reverse("admin:accounts_workspace_change", args=[workspace.pk])


def workspace_post(workspace, **policies) -> dict:
    """Return the workspace change form's POST data: its memberships unchanged, `policies`."""
    memberships = list(workspace.memberships.order_by("pk"))
    data = {
        "name": workspace.name,
        "slug": workspace.slug,
        "two_factor_policy": workspace.two_factor_policy,
        "sso_jit_role": "member",
        "sso_jit_domains": "",
        "memberships-TOTAL_FORMS": str(len(memberships)),
        "memberships-INITIAL_FORMS": str(len(memberships)),
    }
    for i, membership in enumerate(memberships):
        data |= {
            f"memberships-{i}-id": str(membership.pk),
            f"memberships-{i}-user": str(membership.user_id),
            f"memberships-{i}-role": membership.role,
            f"memberships-{i}-workspace": str(workspace.pk),
        }
    return data | policies


def test_the_workspace_page_shows_its_policies(operator_client, workspace, admin_user):
    WorkspaceSingleSignOn.objects.create(
        workspace=workspace, jit_enabled=True, jit_domains=["example.com", "example.org"]
    )
    content = operator_client.get(workspace_url(workspace)).content.decode()

    assert "Require two-factor authentication" in content
    assert "Members must sign in with SSO" in content
    assert "Break-glass Admin" in content
    assert "example.com\nexample.org" in content
    assert f'<option value="{admin_user.pk}">admin@example.com</option>' in content


def test_an_operator_sets_the_two_factor_policy_through_the_service(
    operator_client, workspace, admin_user
):
    response = operator_client.post(
        workspace_url(workspace), workspace_post(workspace, two_factor_policy="everyone")
    )

    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.two_factor_policy == "everyone"
    event = AuditEvent.objects.get(action="policy.two_factor_updated")
    assert event.actor_label == "operator@example.com"
    assert event.details == {"from": "off", "to": "everyone", "by_operator": True}
    # Nothing else was audited as a change of the workspace itself.
    assert not AuditEvent.objects.filter(action="workspace.changed").exists()


def test_an_unknown_two_factor_policy_is_a_field_error(operator_client, workspace, admin_user):
    response = operator_client.post(
        workspace_url(workspace), workspace_post(workspace, two_factor_policy="sometimes")
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.two_factor_policy == "off"


def test_an_operator_sets_the_sso_policy_through_the_service(
    oidc_provider, operator_client, workspace, admin_user
):
    data = workspace_post(
        workspace,
        sso_required="on",
        sso_break_glass_admin=str(admin_user.pk),
        sso_jit_enabled="on",
        sso_jit_domains="Example.com\n@example.org",
        sso_jit_role="manager",
    )

    response = operator_client.post(workspace_url(workspace), data)

    assert response.status_code == 302
    config = WorkspaceSingleSignOn.objects.get(workspace=workspace)
    assert (config.required, config.break_glass_admin, config.jit_enabled) == (
        True,
        admin_user,
        True,
    )
    assert (config.jit_domains, config.jit_role) == (["example.com", "example.org"], "manager")
    event = AuditEvent.objects.get(action="policy.sso_updated")
    assert event.actor_label == "operator@example.com" and event.workspace == workspace
    assert event.details["by_operator"] is True
    assert event.details["changed"]["break_glass_admin"] == {"from": None, "to": admin_user.email}
    listing = operator_client.get(reverse("admin:accounts_workspace_changelist")).content
    assert b'alt="True"' in listing  # "SSO required"


@pytest.mark.parametrize(
    ("policies", "field", "message"),
    [
        ({"sso_jit_enabled": "on"}, "sso_jit_domains", "Name at least one email domain."),
        (
            {"sso_jit_enabled": "on", "sso_jit_domains": "example.com\nnot a domain"},
            "sso_jit_domains",
            "Not an email domain: not a domain.",
        ),
        ({"sso_jit_role": "admin"}, "sso_jit_role", "Select a valid choice."),
        ({"sso_break_glass_admin": "999999"}, "sso_break_glass_admin", "Select a valid choice."),
    ],
)
def test_sso_settings_the_console_refuses_are_field_errors_here(
    oidc_provider, operator_client, workspace, admin_user, policies, field, message
):
    response = operator_client.post(workspace_url(workspace), workspace_post(workspace, **policies))

    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors[field])
    assert not WorkspaceSingleSignOn.objects.exists()
    assert not AuditEvent.objects.filter(action="policy.sso_updated").exists()


def test_requiring_sso_while_it_is_not_configured_is_refused(
    operator_client, workspace, admin_user
):
    response = operator_client.post(
        workspace_url(workspace), workspace_post(workspace, sso_required="on")
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["sso_required"]
    assert "Single sign-on is not configured" in str(errors)
    assert not WorkspaceSingleSignOn.objects.exists()


def test_a_member_who_is_not_admin_cannot_be_the_break_glass_account(
    oidc_provider, operator_client, workspace, admin_user, member_user
):
    data = workspace_post(workspace, sso_required="on", sso_break_glass_admin=str(member_user.pk))

    response = operator_client.post(workspace_url(workspace), data)

    assert response.status_code == 200
    assert "Select a valid choice" in str(
        response.context["adminform"].form.errors["sso_break_glass_admin"]
    )


def test_staff_who_may_only_view_workspaces_see_the_policies_read_only(
    oidc_provider, workspace, admin_user
):
    WorkspaceSingleSignOn.objects.create(
        workspace=workspace, required=True, break_glass_admin=admin_user
    )
    staff = User.objects.create_user("viewer@example.com", PASSWORD, is_staff=True)
    staff.user_permissions.add(*Permission.objects.filter(codename="view_workspace"))
    client = signed_in(staff)

    content = client.get(workspace_url(workspace)).content.decode()
    client.post(workspace_url(workspace), workspace_post(workspace, two_factor_policy="everyone"))

    assert "Members must sign in with SSO; break-glass Admin admin@example.com" in content
    assert 'name="sso_required"' not in content
    workspace.refresh_from_db()
    assert workspace.two_factor_policy == "off"


def test_the_workspace_list_shows_policies_in_a_constant_number_of_queries(
    operator_client, workspace, other_workspace
):
    from accounts.models import Workspace

    def listing_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = operator_client.get(reverse("admin:accounts_workspace_changelist"))
        assert response.status_code == 200
        return len(captured.captured_queries)

    WorkspaceSingleSignOn.objects.create(workspace=workspace, required=True)
    few = listing_queries()
    for n in range(5):
        more = Workspace.objects.create(name=f"W{n}", slug=f"w{n}")
        WorkspaceSingleSignOn.objects.create(workspace=more, required=bool(n % 2))
    assert listing_queries() == few
