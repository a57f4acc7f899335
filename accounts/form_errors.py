"""Show a service's ValidationError on the form whose data it was given."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(
    form: forms.Form, error: ValidationError, rename: dict[str, str] | None = None
) -> None:
    """Attach `error` to `form`: each message next to its field, the rest above the form.

    Services name model fields; `rename` maps those to the form's own fields.
    """
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        target = (rename or {}).get(field, field)
        form.add_error(target if target in form.fields else None, messages)
