"""Settings → Policies → Single sign-on: Admins change it after confirming it is them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts import sudo
from accounts.form_errors import add_service_errors
from accounts.htmx import render_page
from accounts.models import User
from accounts.models.sso import JIT_ROLES
from accounts.permissions import Perm, has_perm, workspace_view
from accounts.signin import oidc_config, sso

TEMPLATE = "accounts/sso_settings.html"


class SsoSettingsForm(forms.Form):
    """The workspace's single sign-on settings."""

    required = forms.BooleanField(
        label="Members must sign in with SSO",
        required=False,
        help_text="Password sign-ins of this workspace's members are refused, except the "
        "break-glass Admin's. Members signed in with a password are sent through SSO when "
        "they next open the workspace.",
    )
    jit_enabled = forms.BooleanField(
        label="Let people at these email domains join when they sign in with SSO",
        required=False,
        help_text="Their Keyward account is created if needed. Someone removed from the "
        "workspace joins again at their next SSO sign-in: remove their domain or turn this "
        "off to keep them out.",
    )
    jit_domains = forms.CharField(
        label="Email domains",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "example.com"}),
        help_text="One per line.",
    )
    jit_role = forms.ChoiceField(
        label="Role of people who join",
        choices=JIT_ROLES,
        help_text="Never Admin: promote people by hand.",
    )
    break_glass_admin = forms.ModelChoiceField(
        label="Break-glass Admin",
        queryset=User.objects.none(),
        required=False,
        empty_label="Nobody",
        help_text="The one Admin who may still sign in with a password while SSO is "
        "required, for when the SSO provider is down. Keep their password in your vault.",
    )

    def __init__(self, *args, workspace, editable: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["break_glass_admin"].queryset = sso.break_glass_candidates(workspace)
        self.fields["break_glass_admin"].label_from_instance = lambda user: user.email
        if not oidc_config.is_enabled():
            self.fields["required"].disabled = True
        if not editable:
            for field in self.fields.values():
                field.disabled = True

    def clean_jit_domains(self) -> list[str]:
        try:
            return sso.clean_domains(self.cleaned_data["jit_domains"])
        except ValidationError as error:
            raise ValidationError(error.message_dict["jit_domains"]) from None


def _initial(config) -> dict:
    return {
        "required": config.required,
        "jit_enabled": config.jit_enabled,
        "jit_domains": "\n".join(config.jit_domains),
        "jit_role": config.jit_role,
        "break_glass_admin": config.break_glass_admin_id,
    }


@workspace_view()
def sso_settings(request: HttpRequest) -> HttpResponse:
    """Show the workspace's single sign-on settings; Admins change them under sudo mode."""
    config = sso.sso_settings(request.workspace)
    may_edit = has_perm(request.membership, Perm.POLICIES_MANAGE)
    posted = request.POST if request.method == "POST" else None
    form = SsoSettingsForm(
        posted, initial=_initial(config), workspace=request.workspace, editable=may_edit
    )
    if request.method == "POST" and not may_edit:
        raise PermissionDenied("Only Admins may change single sign-on.")
    # A right answer starts sudo mode even if the settings need fixing: asked once.
    sudo_form = sudo.prompt(request) if may_edit else None
    if request.method == "POST" and form.is_valid() and sudo_form is None:
        try:
            changed = sso.sso_settings_update(
                workspace=request.workspace,
                actor=request.membership,
                request=request,
                **form.cleaned_data,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Single sign-on saved." if changed else "Nothing changed.")
            return redirect("accounts:sso_settings", slug=request.workspace.slug)
    context = {
        "nav": "settings",
        "tab": "policies",
        "form": form,
        "sudo_form": sudo_form,
        "config": config,
        "may_edit": may_edit,
        "sso_enabled": oidc_config.is_enabled(),
        "provider": oidc_config.provider_name(),
        "signed_in_with_sso": sso.signed_in_with_sso(request),
    }
    return render_page(request, TEMPLATE, context)
