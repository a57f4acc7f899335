"""Routes for signing in, workspaces, members and invitations."""

from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from accounts.views import (
    audit,
    auth,
    invitations,
    members,
    passkeys,
    security,
    sso,
    sso_reauth,
    sso_settings,
    two_factor,
    two_factor_required,
    workspaces,
)

app_name = "accounts"

password_urls = [
    path(
        "accounts/password/change/",
        auth.PasswordChangeView.as_view(
            success_url=reverse_lazy("accounts:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "accounts/password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "accounts/password/reset/",
        auth.PasswordResetView.as_view(
            success_url=reverse_lazy("accounts:password_reset_done"),
        ),
        name="password_reset",
    ),
    path(
        "accounts/password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "accounts/password/reset/<uidb64>/<token>/",
        auth.PasswordResetConfirmView.as_view(
            success_url=reverse_lazy("accounts:password_reset_complete")
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    path("", workspaces.home, name="home"),
    path("accounts/login/", two_factor.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth.SignOutView.as_view(), name="logout"),
    path("accounts/signup/", auth.signup, name="signup"),
    # Single sign-on (OpenID Connect)
    path("accounts/sso/login/", sso.sso_login, name="sso_login"),
    path("accounts/sso/callback/", sso.sso_callback, name="sso_callback"),
    # Sudo mode through SSO, for accounts without a password (accounts.views.sso_reauth).
    path("accounts/sso/confirm/", sso_reauth.sso_reauth, name="sso_reauth"),
    *password_urls,
    # Two-factor authentication: TOTP, recovery codes, the code step of sign-in (issue 12).
    path("account/security/", security.security, name="security"),
    path("account/security/totp/setup/", security.totp_setup, name="security_totp_setup"),
    path("account/security/totp/remove/", security.totp_remove, name="security_totp_remove"),
    path(
        "account/security/recovery-codes/regenerate/",
        security.recovery_codes_regenerate,
        name="security_recovery_codes_regenerate",
    ),
    path(
        "account/security/recovery-codes/new/",
        security.recovery_codes_new,
        name="security_recovery_codes_new",
    ),
    path("accounts/login/two-factor/", two_factor.two_factor, name="security_two_factor"),
    # Where a workspace requiring two-factor sends a member who lacks it (accounts.signin.policy).
    path(
        "account/security/required/<slug:slug>/",
        two_factor_required.two_factor_required,
        name="two_factor_required",
    ),
    # Passkeys (WebAuthn): Account → Security → Passkeys, passwordless sign-in, sudo mode.
    path("account/security/passkeys/", passkeys.passkey_list, name="passkey_list"),
    path("account/security/passkeys/add/", passkeys.passkey_add, name="passkey_add"),
    path(
        "account/security/passkeys/add/options/",
        passkeys.passkey_add_options,
        name="passkey_add_options",
    ),
    path(
        "account/security/passkeys/<int:pk>/rename/",
        passkeys.passkey_rename,
        name="passkey_rename",
    ),
    path(
        "account/security/passkeys/<int:pk>/remove/",
        passkeys.passkey_remove,
        name="passkey_remove",
    ),
    path(
        "account/security/passkeys/sudo/options/",
        passkeys.passkey_sudo_options,
        name="passkey_sudo_options",
    ),
    path("account/security/passkeys/sudo/", passkeys.passkey_sudo, name="passkey_sudo"),
    path(
        "accounts/login/passkey/options/",
        passkeys.passkey_login_options,
        name="passkey_login_options",
    ),
    path("accounts/login/passkey/", passkeys.passkey_login, name="passkey_login"),
    path(
        "accounts/login/two-factor/passkey/options/",
        passkeys.passkey_two_factor_options,
        name="passkey_two_factor_options",
    ),
    path(
        "accounts/login/two-factor/passkey/",
        passkeys.passkey_two_factor,
        name="passkey_two_factor",
    ),
    path("invitations/<str:token>/", invitations.invitation_accept, name="invitation_accept"),
    path("workspaces/new/", workspaces.workspace_create, name="workspace_create"),
    path("w/<slug:slug>/", workspaces.overview, name="workspace_overview"),
    path("w/<slug:slug>/settings/", workspaces.settings_index, name="settings"),
    path("w/<slug:slug>/settings/members/", members.members, name="members"),
    path("w/<slug:slug>/settings/members/invite/", members.member_invite, name="member_invite"),
    path("w/<slug:slug>/settings/members/<int:pk>/role/", members.member_role, name="member_role"),
    path(
        "w/<slug:slug>/settings/members/<int:pk>/remove/",
        members.member_remove,
        name="member_remove",
    ),
    path(
        "w/<slug:slug>/settings/invitations/<int:pk>/resend/",
        members.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "w/<slug:slug>/settings/invitations/<int:pk>/cancel/",
        members.invitation_cancel,
        name="invitation_cancel",
    ),
    # Single sign-on (OpenID Connect): the workspace's settings
    path("w/<slug:slug>/settings/sso/", sso_settings.sso_settings, name="sso_settings"),
    path("w/<slug:slug>/settings/audit/", audit.audit_log, name="audit"),
    path("w/<slug:slug>/settings/audit/export.csv", audit.audit_export, name="audit_export"),
]
