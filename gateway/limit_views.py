"""The Edit limits dialog of the Tokens tab."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from accounts.form_errors import add_service_errors
from accounts.htmx import attempt, render_page
from accounts.permissions import workspace_view
from gateway.limit_forms import FORM_FIELDS, TokenLimitsForm
from gateway.limit_services import (
    ceilings_in_words,
    completed,
    limit_policy,
    token_limits,
    token_limits_set,
)
from tokens import rules
from tokens.views.tokens import _actor, _row_done, _token_to, tab_context

TEMPLATE = "gateway/token_limits.html"


def _show_errors(form, error) -> None:
    add_service_errors(form, error, FORM_FIELDS)


@workspace_view()
def token_limits_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show a token's limits; save them and redraw its row (Admins, Managers, owners)."""
    token = _token_to(request, public_id, "change the limits of", rules.may_manage)
    policy = limit_policy(token.workspace_id)
    # A limit the workspace caps and the token lacks shows at its ceiling: saving keeps it.
    initial = TokenLimitsForm.initial_of(completed(token_limits(token), policy))
    form = TokenLimitsForm(request.POST or None, initial=initial)
    saved = attempt(
        request,
        token_limits_set,
        form,
        show_errors=_show_errors,
        actor=_actor(request),
        token=token,
    )
    if saved.done:
        return _row_done(request, token, f"Limits of {token.name} saved.")
    context = tab_context(
        request, limiting=token, limits_form=form, ceilings=ceilings_in_words(policy)
    )
    return render_page(request, TEMPLATE, context, dialog="limits-dialog")
