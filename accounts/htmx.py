"""Answer console requests the same way with and without HTMX."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.cache import patch_vary_headers
from django_htmx.http import reswap, retarget, trigger_client_event

from accounts.form_errors import add_service_errors


def render_page(
    request: HttpRequest,
    template: str,
    context: dict,
    *,
    partial: str | None = None,
    dialog: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render `template`, or only its `partial` (or `dialog`) block when HTMX asks.

    A `dialog` is the partial the view chose to show over the page: without
    HTMX it is rendered first and handed to the page as `dialog` (its name as
    `dialog_name`), so the page shows that dialog and no other, whatever else
    the context holds.
    """
    if dialog and not request.htmx:
        context = {
            **context,
            "dialog": render_to_string(f"{template}#{dialog}", context, request),
            "dialog_name": dialog,
        }
    partial = partial or dialog
    name = f"{template}#{partial}" if partial and request.htmx else template
    response = render(request, name, context, status=status)
    if partial:
        # One URL answers a whole page or a fragment: caches (and the Back button) must
        # not give one for the other.
        patch_vary_headers(response, ["HX-Request"])
    return response


def finish_action(
    request: HttpRequest,
    *,
    message: str,
    redirect_url: str,
    update: HttpResponse | None = None,
    target: str | None = None,
) -> HttpResponse:
    """Answer a successful action.

    With HTMX: swap `update` into `target` (outerHTML), close the modal and
    announce `message`. Without: redirect to `redirect_url` with `message`
    as a flash message.
    """
    if not request.htmx:
        messages.success(request, message)
        return redirect(redirect_url)
    response = update if update is not None else HttpResponse(status=204)
    if update is not None and target:
        retarget(response, target)
        reswap(response, "outerHTML")
    trigger_client_event(response, "modal:close", {})
    trigger_client_event(response, "toast", {"message": message, "level": "success"})
    return response


def finish_with_partial(
    request: HttpRequest, message: str, template: str, context: dict, partial: str, url: str
) -> HttpResponse:
    """Answer a successful action by swapping in the page's `partial` (its id is its name)."""
    update = render_page(request, template, context, partial=partial)
    return finish_action(
        request, message=message, redirect_url=url, update=update, target=f"#{partial}"
    )


def refuse_action(request: HttpRequest, *, message: str, redirect_url: str) -> HttpResponse:
    """Answer an action that changed nothing: an error toast with HTMX, else a flash message."""
    if not request.htmx:
        messages.error(request, message)
        return redirect(redirect_url)
    response = HttpResponse(status=204)
    trigger_client_event(response, "toast", {"message": message, "level": "error"})
    return response


@dataclass(frozen=True)
class Attempt:
    """What a posted action did: `done`, with the service's `result`, or refused with `error`."""

    done: bool = False
    result: Any = None
    error: str | None = None


def attempt(
    request: HttpRequest,
    service: Callable[..., Any],
    form: forms.Form | None = None,
    *,
    show_errors: Callable[[forms.Form, ValidationError], None] | None = add_service_errors,
    **arguments: Any,
) -> Attempt:
    """Call a dialog's `service` when the request is a POST (and `form` is valid).

    The service gets `arguments`, the request, and the form's cleaned data (or
    what its `service_arguments()` makes of it, for a form whose fields are not
    the service's arguments). A refusal (ValidationError) is shown on the form
    by `show_errors` and also returned as one line, for dialogs that show it
    without a form.
    """
    if request.method != "POST" or (form is not None and not form.is_valid()):
        return Attempt()
    if form is not None:
        to_arguments = getattr(form, "service_arguments", lambda: form.cleaned_data)
        arguments = {**arguments, **to_arguments()}
    try:
        result = service(request=request, **arguments)
    except ValidationError as error:
        if form is not None and show_errors is not None:
            show_errors(form, error)
        return Attempt(error=" ".join(error.messages))
    return Attempt(done=True, result=result)
