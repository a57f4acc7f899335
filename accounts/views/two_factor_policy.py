"""Settings → Policies → Two-factor authentication: the section every member reads, Admins change.

The Policies tab (tokens.views.policies) shows it under the token policies and
hands its POST here: the section is its own form, told apart by `SECTION`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts import services, sudo
from accounts.form_errors import add_service_errors
from accounts.models import Membership, TwoFactorPolicy
from accounts.permissions import Perm, has_perm
from accounts.signin import factors

SECTION = "two_factor"
HELP = {
    TwoFactorPolicy.OFF: "Two-factor stays optional for everyone.",
    TwoFactorPolicy.ADMINS_AND_MANAGERS: "Admins and Managers must use it; Members may.",
    TwoFactorPolicy.EVERYONE: "Every member must use it.",
}


class TwoFactorPolicyForm(forms.Form):
    section = forms.CharField(widget=forms.HiddenInput, initial=SECTION)
    two_factor_policy = forms.ChoiceField(
        label="Require two-factor authentication",
        choices=TwoFactorPolicy.choices,
        # The error's id too, as on the lifetime field: ignored while absent.
        widget=forms.RadioSelect(
            attrs={"aria-describedby": "two-factor-policy-help two-factor-policy-error"}
        ),
    )

    def __init__(self, *args, editable: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not editable:
            self.fields["two_factor_policy"].disabled = True


@dataclass
class Section:
    """What the section shows, or the `response` that ends the request (a saved change)."""

    form: TwoFactorPolicyForm | None = None
    submitted: bool = False
    response: HttpResponse | None = None
    context: dict = field(default_factory=dict)


def submitted(request: HttpRequest) -> bool:
    """Return whether `request` posts this section's form (not the token policies')."""
    return request.method == "POST" and request.POST.get("section") == SECTION


def _lacking(workspace) -> dict[str, int]:
    """Return, for each policy, how many members it covers lack two-factor: one query."""
    rows = (
        Membership.objects.filter(workspace=workspace)
        .annotate(has_two_factor=factors.has_two_factor_expression("user"))
        .filter(has_two_factor=False)
        .values_list("role", flat=True)
    )
    roles = list(rows)
    return {
        policy.value: sum(1 for role in roles if policy.covers(role)) for policy in TwoFactorPolicy
    }


def section(request: HttpRequest) -> Section:
    """Build the section for the Policies tab; on its POST, change the policy (Admins only,
    under sudo mode).

    A refusal (the Admin lacks two-factor, or a bad choice) shows next to the
    field; a saved change redirects back to the tab.
    """
    workspace = request.workspace
    may_edit = has_perm(request.membership, Perm.POLICIES_MANAGE)
    posted = submitted(request)
    form = TwoFactorPolicyForm(
        request.POST if posted else None,
        initial={"two_factor_policy": workspace.two_factor_policy},
        editable=may_edit,
    )
    # Its own sudo prompt (ids apart from the token policies' one), read only when it is posted.
    sudo_form = sudo.prompt(request, bind=posted, auto_id="id_two_factor_%s") if may_edit else None
    if posted and form.is_valid() and sudo_form is None:
        # A non-Admin's disabled field is valid: the service refuses them (403).
        try:
            changed = services.workspace_two_factor_policy_update(
                workspace=workspace,
                policy=form.cleaned_data["two_factor_policy"],
                actor=request.user,
                request=request,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Two-factor policy saved." if changed else "Nothing changed.")
            return Section(
                submitted=True, response=redirect("tokens:policies", slug=workspace.slug)
            )
    lacking = _lacking(workspace)
    context = {
        "two_factor_form": form,
        "two_factor_sudo_form": sudo_form,
        "two_factor_choices": [
            {
                "radio": radio,
                "help": HELP[radio.data["value"]],
                "lacking": lacking[radio.data["value"]],
            }
            for radio in form["two_factor_policy"]
        ],
        "own_two_factor": factors.has_two_factor(request.user) if may_edit else None,
    }
    return Section(form=form, submitted=posted, context=context)
