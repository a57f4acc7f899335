"""Settings → Limits & usage: Admins set the workspace's default limits, ceilings and the
new-IP email; the services check and audit every change."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from accounts.form_errors import add_service_errors
from accounts.htmx import finish_with_partial, render_page
from accounts.permissions import Perm, workspace_view
from gateway.limit_ceilings import cappings
from gateway.limit_models import LimitPolicy
from gateway.limit_policy_forms import LimitPolicyForm
from gateway.limit_policy_services import (
    CEILINGS,
    limit_policy_of,
    set_limit_policy,
    set_usage_settings,
    usage_settings_of,
)
from gateway.limit_services import completed, policy_defaults
from gateway.limit_spec import Limits
from tokens.actors import Actor

TEMPLATE = "gateway/limit_policy.html"
_NONE = Limits()
PARTIAL = "limit-policy"
IMPACT = "ceilings-impact"


def _tokens(count: int) -> str:
    return f"{count} active token{'s' if count != 1 else ''}"


def _typed_ceilings(data) -> LimitPolicy | None:
    """Return an unsaved policy with the ceilings typed, or None while one is not a valid count."""
    fields = LimitPolicyForm.base_fields
    try:
        return LimitPolicy(**{name: fields[name].clean(data.get(name, "")) for name in CEILINGS})
    except ValidationError:
        return None


def ceilings_impact(workspace, policy: LimitPolicy | None) -> str:
    """Return what saving these ceilings would do to the workspace's active tokens, in words;
    empty without ceilings (or valid ones)."""
    if policy is None or not any(getattr(policy, name) is not None for name in CEILINGS):
        return ""
    count = len(cappings(workspace.pk, policy))
    if not count:
        return "Saving caps no token: every active token is within these ceilings."
    return (
        f"Saving caps {_tokens(count)} beyond these ceilings (or without a limit they cap): "
        "their limits become the ceilings."
    )


def _saved(change, usage) -> str:
    if not (change.changed or change.tokens_capped or usage.changed):
        return "Nothing changed."
    if not change.tokens_capped:
        return "Limits & usage saved."
    return f"Limits & usage saved; {_tokens(change.tokens_capped)} capped to the ceilings."


def _context(request: HttpRequest, form: LimitPolicyForm, policy, ceilings=None) -> dict:
    return {
        "nav": "settings",
        "tab": "limits",
        "form": form,
        "policy": policy,
        "new_token_limits": (completed(policy_defaults(policy), policy) or _NONE).in_words(),
        "action_url": reverse("gateway_limits:policy", kwargs={"slug": request.workspace.slug}),
        "preview_url": reverse(
            "gateway_limits:policy_preview", kwargs={"slug": request.workspace.slug}
        ),
        "ceilings_impact": ceilings_impact(request.workspace, ceilings or policy),
    }


def _fresh_form(workspace) -> tuple[LimitPolicyForm, object]:
    policy = limit_policy_of(workspace)
    initial = LimitPolicyForm.initial_of(policy, usage_settings_of(workspace))
    return LimitPolicyForm(initial=initial), policy


def _save(request: HttpRequest, form: LimitPolicyForm) -> str:
    """Save the policy and the usage settings together; return what happened, in words."""
    arguments = {
        "actor": Actor.member(request.membership),
        "workspace": request.workspace,
        "request": request,
    }
    with transaction.atomic():
        policy = set_limit_policy(**arguments, **form.policy_arguments())
        email = form.cleaned_data["email_on_new_ip"]
        usage = set_usage_settings(**arguments, email_on_new_ip=email)
    return _saved(policy, usage)


@workspace_view(Perm.POLICIES_MANAGE)
def limit_policy_settings(request: HttpRequest) -> HttpResponse:
    """Show the workspace's limits policy and usage settings; save what an Admin sends."""
    form, policy = _fresh_form(request.workspace)
    if request.method == "POST":
        form = LimitPolicyForm(request.POST, initial=form.initial)
        if form.is_valid():
            try:
                message = _save(request, form)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                saved, policy = _fresh_form(request.workspace)
                context = _context(request, saved, policy)
                url = context["action_url"]
                return finish_with_partial(request, message, TEMPLATE, context, PARTIAL, url)
        form.focus_first_error()
        # What the ceilings typed would do, as the preview said before sending.
        context = _context(request, form, policy, _typed_ceilings(request.POST) or LimitPolicy())
        return render_page(request, TEMPLATE, context, partial=PARTIAL)
    return render_page(request, TEMPLATE, _context(request, form, policy), partial=PARTIAL)


@require_GET
@workspace_view(Perm.POLICIES_MANAGE)
def limit_policy_preview(request: HttpRequest) -> HttpResponse:
    """Say how many active tokens the ceilings typed (not yet saved) would cap; nothing while
    one of them is not a valid count (saving shows its error)."""
    impact = ceilings_impact(request.workspace, _typed_ceilings(request.GET))
    return render(request, f"{TEMPLATE}#{IMPACT}", {"ceilings_impact": impact})
