"""Settings → Policies: Admins change the workspace's token policies; everyone may read them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts import query_params, sudo
from accounts.form_errors import add_service_errors
from accounts.htmx import render_page
from accounts.permissions import Perm, has_perm, workspace_view
from accounts.views import two_factor_policy
from tokens import vault
from tokens.actors import Actor
from tokens.models import RevealPolicy
from tokens.services import policies, workspace_policy

TEMPLATE = "tokens/policies.html"


class ChoiceRadioSelect(forms.RadioSelect):
    """Radio buttons with attributes per choice; `unavailable` choices show but are disabled."""

    def __init__(self, *args, option_attrs=None, unavailable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.option_attrs = option_attrs or {}
        self.unavailable = set(unavailable)

    def create_option(self, name, value, *args, **kwargs):
        option = super().create_option(name, value, *args, **kwargs)
        option["attrs"].update(self.option_attrs.get(value, {}))
        if value in self.unavailable:
            option["attrs"]["disabled"] = True
        return option


class PolicyForm(forms.Form):
    """The workspace's token policies; its widgets carry every limit the page shows."""

    max_lifetime_days = query_params.WholeNumberField(
        label="Maximum lifetime",
        required=False,
        min_value=1,
        max_value=policies.MAX_LIFETIME_DAYS,
        # min and max come from the field; the impact preview is described too.
        widget=forms.NumberInput(
            attrs={
                "placeholder": "No limit",
                "inputmode": "numeric",
                # Set here, so Django adds none: the error's id too (ignored while absent).
                "aria-describedby": "id_max_lifetime_days_helptext id_max_lifetime_days_error "
                "lifetime-impact",
            }
        ),
        help_text="In days. New and rotated tokens must expire within it; empty for no limit.",
    )
    allow_never_expiring = forms.BooleanField(
        label="Allow tokens that never expire",
        required=False,
        help_text="Only applies without a maximum lifetime.",
    )
    members_may_create_personal = forms.BooleanField(
        label="Members may create personal tokens", required=False
    )
    reveal_policy = forms.ChoiceField(
        label="Reveal policy",
        choices=RevealPolicy.choices,
        widget=ChoiceRadioSelect(
            option_attrs={RevealPolicy.RETRIEVABLE: {"aria-describedby": "retrievable-help"}}
        ),
    )

    def __init__(self, *args, editable: bool, policy, preview_url: str, **kwargs):
        super().__init__(*args, **kwargs)
        if not editable:
            for field in self.fields.values():
                field.disabled = True
        if not vault.is_configured() and policy.reveal_policy != RevealPolicy.RETRIEVABLE:
            # Without keys nobody may switch to retrievable; one already on it may stay.
            self.fields["reveal_policy"].widget.unavailable = {RevealPolicy.RETRIEVABLE}
        self.fields["max_lifetime_days"].widget.attrs.update(
            {
                "hx-get": preview_url,
                "hx-trigger": "input changed delay:300ms",
                "hx-target": "#lifetime-impact",
                "hx-swap": "outerHTML",
            }
        )


def _form(request: HttpRequest, policy, *, posted: bool) -> PolicyForm:
    return PolicyForm(
        request.POST if posted else None,
        initial={field: getattr(policy, field) for field in policies.FIELDS},
        editable=has_perm(request.membership, Perm.POLICIES_MANAGE),
        policy=policy,
        preview_url=reverse("tokens:policies", kwargs={"slug": request.workspace.slug}),
    )


def _lifetime_preview(request: HttpRequest) -> int | None:
    """Return the lifetime in days typed so far, for the live preview of its impact."""
    return query_params.days(
        request.GET.get("max_lifetime_days"), maximum=policies.MAX_LIFETIME_DAYS
    )


@workspace_view()
def policy_settings(request: HttpRequest) -> HttpResponse:
    """Show the workspace's token policies; Admins change them under sudo mode."""
    policy = workspace_policy(request.workspace)
    if request.htmx and request.method == "GET" and "max_lifetime_days" in request.GET:
        days = _lifetime_preview(request)
        context = {
            "lifetime_days": days,
            "beyond": policies.tokens_beyond_lifetime(request.workspace, days),
        }
        return render_page(request, TEMPLATE, context, partial="lifetime-impact")
    # The two-factor section (accounts) is a form of its own on this tab.
    two_factor = two_factor_policy.section(request)
    if two_factor.response is not None:
        return two_factor.response
    posted = request.method == "POST" and not two_factor.submitted
    may_edit = has_perm(request.membership, Perm.POLICIES_MANAGE)
    if posted and not may_edit:
        raise PermissionDenied("Your role may not change the workspace's policies.")
    form = _form(request, policy, posted=posted)
    # Changing a policy asks who it is (sudo mode): the answer comes with the form, whose
    # values are shown again when the answer is wrong.
    sudo_form = sudo.prompt(request, bind=posted) if may_edit else None
    if posted and form.is_valid() and sudo_form is None:
        try:
            change = policies.policy_update(
                actor=Actor.member(request.membership),
                workspace=request.workspace,
                request=request,
                **form.cleaned_data,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _saved_message(change))
            return redirect("tokens:policies", slug=request.workspace.slug)
    days = policy.max_lifetime_days
    context = {
        "nav": "settings",
        "tab": "policies",
        "form": form,
        "sudo_form": sudo_form,
        "policy": policy,
        "may_edit": may_edit,
        "encryption_ready": vault.is_configured(),
        "lifetime_days": days,
        "beyond": policies.tokens_beyond_lifetime(request.workspace, days),
        "never_expiring": policies.never_expiring_count(request.workspace),
        "stored_copies": policies.retrievable_count(request.workspace),
        **two_factor.context,
    }
    return render_page(request, TEMPLATE, context)


def _saved_message(change: policies.PolicyChange) -> str:
    if not change.changed:
        return "Nothing changed."
    parts = ["Policies saved."]
    if change.erased_copies:
        parts.append(
            f"Erased the stored copies of {change.erased_copies} token(s): "
            "their values can no longer be revealed."
        )
    return " ".join(parts)
