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


class ServiceCheckedForm(forms.ModelForm):
    """A Django admin form whose object a service validates and saves (in save_model).

    `clean` runs `service_check`, what the service will check, so that its
    refusals show on the form (its field names mapped by `rename`); the model's
    own validation is skipped: the service's is the one that counts.
    """

    rename: dict[str, str] | None = None

    def service_check(self, data: dict) -> None:
        """Raise the ValidationError the service would raise for `data`, if any."""
        raise NotImplementedError

    def clean(self):
        data = super().clean()
        try:
            self.service_check(data)
        except ValidationError as error:
            add_service_errors(self, error, self.rename)
        return data

    def _post_clean(self) -> None:
        # The model's checks would refuse what the service fills in (a blank slug it makes).
        pass
