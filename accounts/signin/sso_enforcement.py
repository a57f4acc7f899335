"""Enforce "members must sign in with SSO" on password sign-ins and on password sessions.

`SsoRequiredBackend` sits before Django's ModelBackend: a password sign-in of
a member of a workspace that requires SSO is refused before the password is
checked (so the answer never tells whether it was right) and, raising
PermissionDenied, counts as a failed sign-in under the sign-in limits. The
login forms turn the refusal into "<Workspace> requires single sign-on".
`reauthentication` sends a session signed in another way through SSO when it
opens such a workspace. The break-glass Admin's password sign-ins are audited.
"""

from __future__ import annotations

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.core.exceptions import PermissionDenied, ValidationError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html
from django_htmx.http import HttpResponseClientRedirect

from accounts.audit import audit_record
from accounts.models import Membership, User, Workspace
from accounts.models.users import normalize_email
from accounts.signin import oidc_config, sso

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _sso_url(next_url: str) -> str:
    from accounts.templatetags.sso import sso_login_url

    return sso_login_url(next_url)


class SsoRequiredBackend:
    """Refuse password sign-ins that a workspace's "must sign in with SSO" forbids.

    Never authenticates anyone. A password confirmation by the signed-in user
    (sudo mode) is not a sign-in and is left to the other backends.
    """

    def authenticate(self, request: HttpRequest | None, username=None, password=None, **kwargs):
        if request is None or not isinstance(username, str) or password is None:
            return None
        user = User.objects.filter(email=normalize_email(username)).first()
        if user is None or getattr(request, "user", None) == user:
            return None
        workspace = sso.password_refused_by(user)
        if workspace is None:
            return None
        request.sso_required_by = workspace
        audit_record(action="signin.sso_required", actor=user, workspace=workspace, request=request)
        raise PermissionDenied  # counted as a failed sign-in; no other backend is asked


def required_message(workspace: Workspace, next_url: str = "") -> str:
    """Return the login form's refusal, with the link that signs in through SSO."""
    return format_html(
        '{} requires single sign-on. <a href="{}">Sign in with {}</a>.',
        workspace.name,
        _sso_url(next_url),
        oidc_config.provider_name(),
    )


class SsoRequiredMessageMixin:
    """Say which workspace requires SSO when SsoRequiredBackend refused the password."""

    def get_invalid_login_error(self):
        workspace = getattr(self.request, "sso_required_by", None)
        if workspace is None:
            return super().get_invalid_login_error()
        next_url = self.request.POST.get("next") or self.request.GET.get("next") or ""
        return ValidationError(required_message(workspace, next_url), code="sso_required")


def reauthentication(request: HttpRequest, membership: Membership) -> HttpResponse | None:
    """Return where a session that must sign in with SSO for this workspace goes, or None."""
    if not sso.needs_sso_session(request, membership):
        return None
    url = _sso_url(request.get_full_path())
    return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url)


@receiver(user_logged_in, dispatch_uid="keyward-sso-break-glass")
def _audit_break_glass(sender, request: HttpRequest | None, user, **kwargs):
    """Audit each password sign-in that only the break-glass exemption let through."""
    if request is None or request.session.get(BACKEND_SESSION_KEY) != MODEL_BACKEND:
        return
    for membership in sso.break_glass_memberships(user):
        audit_record(
            action="signin.break_glass",
            actor=user,
            workspace=membership.workspace,
            request=request,
        )
