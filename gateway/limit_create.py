"""The Add token dialog's Limits section (tokens.views.tokens.register_create_section)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest

from accounts.form_errors import add_service_errors
from gateway.limit_forms import FORM_FIELDS, TokenLimitsForm
from gateway.limit_services import (
    ceilings_in_words,
    completed,
    limit_policy,
    policy_defaults,
    token_limits_set,
)
from tokens.actors import Actor
from tokens.models import Token

PREFIX = "limits"


class LimitsSection:
    """A collapsed Limits section: the workspace's defaults (or ceilings) filled in, changed
    within the ceilings."""

    template = "gateway/create_limits.html"

    def form(self, request: HttpRequest) -> TokenLimitsForm:
        """Return the section's form; a POST without its fields leaves the defaults alone."""
        posted = request.method == "POST"
        sent = posted and any(key.startswith(f"{PREFIX}-") for key in request.POST)
        policy = limit_policy(request.workspace.pk)
        form = TokenLimitsForm(
            request.POST if sent else None,
            prefix=PREFIX,
            initial=TokenLimitsForm.initial_of(completed(policy_defaults(policy), policy)),
        )
        form.ceilings = ceilings_in_words(policy)
        return form

    def save(self, form: TokenLimitsForm, *, token: Token, actor: Actor, request) -> None:
        """Give the new token the limits typed; a refusal shows on the section and undoes all."""
        if not form.is_bound:
            return
        try:
            token_limits_set(actor=actor, token=token, request=request, **form.service_arguments())
        except ValidationError as error:
            add_service_errors(form, error, FORM_FIELDS)
            raise ValidationError(
                "Check the token's limits below.", code="invalid_limits"
            ) from None
