"""Check a token by its value, then revoke it as leaked: the one flow behind the console's
"Check a token" dialog and Django admin's Check a token page.

A member checks within their workspace; an operator (workspace None) in every
workspace. The revocation trusts only a signed proof that this person just
pasted the value (tokens.check_proofs), so a public id alone cannot label a
token leaked.
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from accounts.models import User, Workspace
from tokens import rules, services
from tokens.actors import Actor
from tokens.check_proofs import STALE_PROOF, check_proof, checked_public_id
from tokens.models import Token

WRONG_FORMAT = (
    "This is not a Keyward token: the prefix, length or checksum does not match. "
    "Paste the whole value."
)
NOT_OURS = "No token of this workspace has this value. It may belong to another workspace."
NOT_FOUND = "No token has this value."


class TokenCheckForm(forms.Form):
    """A pasted token value, looked up when the form is cleaned; never rendered back."""

    value = forms.CharField(
        label="Token value",
        max_length=200,
        strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Paste the token you found, for example in a log or a public repository. "
        "Keyward compares a fingerprint of it and keeps nothing of what you paste.",
    )

    def __init__(
        self,
        data=None,
        *,
        actor: Actor,
        workspace: Workspace | None,
        request: HttpRequest | None = None,
        **kwargs,
    ):
        super().__init__(data, **kwargs)
        self.actor, self.workspace, self.request = actor, workspace, request
        self.found: Token | None = None

    def clean_value(self) -> str:
        value = self.cleaned_data["value"]
        if not services.secrets_look_valid(value):
            raise ValidationError(WRONG_FORMAT, code="wrong_format")
        self.found = services.token_check(
            actor=self.actor, workspace=self.workspace, value=value, request=self.request
        )
        if self.found is None:
            raise ValidationError(NOT_OURS if self.workspace else NOT_FOUND, code="unknown")
        return value

    def proof_for(self, user: User) -> str:
        """Return the signed proof that `user` pasted the found token's value, or ""."""
        return check_proof(self.found, user) if self.found is not None else ""


@dataclass(frozen=True)
class CheckedRevocation:
    """What "Revoke as leaked" did: the token (None when the proof was stale) and the words."""

    token: Token | None
    message: str


def token_revoke_checked(
    *,
    actor: Actor,
    user: User,
    proof: str,
    workspace: Workspace | None,
    request: HttpRequest | None = None,
) -> CheckedRevocation:
    """Revoke as leaked the token a check proof names; say what happened.

    Raise Http404 when the actor may not see the token and PermissionDenied
    when it may not revoke it.
    """
    public_id = checked_public_id(proof, user)
    if public_id is None:
        return CheckedRevocation(None, STALE_PROOF)
    tokens = (
        Token.objects.all() if workspace is None else services.tokens_visible_to(actor, workspace)
    )
    token = get_object_or_404(tokens.select_related("workspace", "owner"), public_id=public_id)
    if not rules.may_revoke(actor, token):
        raise PermissionDenied("You may not revoke this token.")
    leak = services.token_revoke_as_leaked(actor=actor, token=token, request=request)
    return CheckedRevocation(leak.token, f"Token {leak.token.name} {leak.outcome()}")
