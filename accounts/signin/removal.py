"""Ask what removing a factor takes: sudo mode, or for the last factor the password and a
current factor (a user without a password confirms sudo mode first, then the factor)."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.http import HttpRequest

from accounts import sudo
from accounts.signin.factor_forms import RemoveFactorForm


@dataclass(frozen=True)
class Removal:
    """Whether the removal may go ahead now, else the `form` to show (a prompt)."""

    confirmed: bool
    form: forms.Form | None = None


def confirm_removal(request: HttpRequest, *, last_factor: bool) -> Removal:
    """Return whether this request confirms removing a factor, else the prompt to show.

    Not the last factor: the sudo prompt (or nothing, in sudo mode). The last:
    a RemoveFactorForm every time, since sudo mode alone is not enough.
    """
    posted = request.method == "POST"
    if not last_factor:
        prompt = sudo.prompt(request)
        return Removal(confirmed=posted and prompt is None, form=prompt)
    if not request.user.has_usable_password():
        was_active = sudo.is_active(request)
        prompt = sudo.prompt(request)
        if prompt is not None or not was_active:  # the form after the prompt, not with it
            return Removal(
                confirmed=False,
                form=prompt or RemoveFactorForm(request=request, last_factor=True),
            )
    # Only a POST of this form is its answer (not the sudo prompt's that came before it).
    answered = posted and ("password" in request.POST or "code" in request.POST)
    form = RemoveFactorForm(request.POST if answered else None, request=request, last_factor=True)
    return Removal(confirmed=answered and form.is_valid(), form=form)
