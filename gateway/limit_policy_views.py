"""Settings → Limits & usage: Admins set the workspace's default limits, ceilings and the
new-IP email; the services check and audit every change."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from accounts.form_errors import add_service_errors
from accounts.htmx import finish_with_partial, render_page
from accounts.permissions import Perm, workspace_view
from gateway.limit_policy_forms import LimitPolicyForm
from gateway.limit_policy_services import (
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


def _context(request: HttpRequest, form: LimitPolicyForm, policy) -> dict:
    return {
        "nav": "settings",
        "tab": "limits",
        "form": form,
        "policy": policy,
        "new_token_limits": (completed(policy_defaults(policy), policy) or _NONE).in_words(),
        "action_url": reverse("gateway_limits:policy", kwargs={"slug": request.workspace.slug}),
    }


def _fresh_form(workspace) -> tuple[LimitPolicyForm, object]:
    policy = limit_policy_of(workspace)
    initial = LimitPolicyForm.initial_of(policy, usage_settings_of(workspace))
    return LimitPolicyForm(initial=initial), policy


def _save(request: HttpRequest, form: LimitPolicyForm) -> bool:
    """Save the policy and the usage settings together; return whether anything changed."""
    arguments = {
        "actor": Actor.member(request.membership),
        "workspace": request.workspace,
        "request": request,
    }
    with transaction.atomic():
        policy = set_limit_policy(**arguments, **form.policy_arguments())
        email = form.cleaned_data["email_on_new_ip"]
        usage = set_usage_settings(**arguments, email_on_new_ip=email)
    return bool(policy.changed or usage.changed)


@workspace_view(Perm.POLICIES_MANAGE)
def limit_policy_settings(request: HttpRequest) -> HttpResponse:
    """Show the workspace's limits policy and usage settings; save what an Admin sends."""
    form, policy = _fresh_form(request.workspace)
    if request.method == "POST":
        form = LimitPolicyForm(request.POST, initial=form.initial)
        if form.is_valid():
            try:
                changed = _save(request, form)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                saved, policy = _fresh_form(request.workspace)
                message = "Limits & usage saved." if changed else "Nothing changed."
                context = _context(request, saved, policy)
                url = context["action_url"]
                return finish_with_partial(request, message, TEMPLATE, context, PARTIAL, url)
        form.focus_first_error()
    return render_page(request, TEMPLATE, _context(request, form, policy), partial=PARTIAL)
