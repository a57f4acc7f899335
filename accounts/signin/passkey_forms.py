"""Forms of the passkeys page: a passkey's name."""

from __future__ import annotations

from django import forms

from accounts.models import Passkey
from accounts.text import text_form_field


class PasskeyNameForm(forms.Form):
    """Name a passkey after where it lives, to tell it apart from the others."""

    name = text_form_field(
        Passkey,
        "name",
        label="Name",
        help_text="Where this passkey lives, such as “Work laptop” or “YubiKey 5C”.",
        error_messages={"required": "Give the passkey a name, such as the device it is on."},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def service_arguments(self) -> dict:
        return {"name": self.cleaned_data["name"]}
