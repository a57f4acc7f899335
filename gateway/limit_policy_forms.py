"""The Limits & usage form of Settings: default limits, ceilings, and the new-IP email."""

from __future__ import annotations

from django import forms

from gateway.limit_forms import count_field, quota_period_field, rate_period_field
from gateway.limit_models import LimitPolicy
from gateway.limit_policy_services import FIELDS
from gateway.usage_models import UsageSettings


def _count(label: str, help_text: str = "", *, empty: str = "No default") -> forms.IntegerField:
    return count_field(label, help_text, placeholder=empty)


class LimitPolicyForm(forms.Form):
    """The workspace's default limits for new tokens, the most any token may get, and whether
    a token's first use from a new IP is emailed."""

    default_rate = _count("Requests", "Empty: new tokens get no rate limit by default.")
    default_rate_period = rate_period_field()
    default_burst = _count("Burst", "Requests allowed at once; at least the rate (default: it).")
    default_quota = _count("Uses", "Empty: new tokens get no quota by default.")
    default_quota_period = quota_period_field()
    max_rate_per_minute = _count(
        "Fastest rate",
        "Requests per minute (a rate per second counts 60 times).",
        empty="No ceiling",
    )
    max_burst = _count("Largest burst", empty="No ceiling")
    max_quota = _count(
        "Largest quota", "Uses, whether the quota refills monthly or not.", empty="No ceiling"
    )
    email_on_new_ip = forms.BooleanField(
        label="Email a token's owner (or creator) when it is first used from a new IP address",
        required=False,
        help_text="The first use from each new address is in the audit log either way.",
    )

    @staticmethod
    def initial_of(policy: LimitPolicy, settings: UsageSettings) -> dict:
        """Return the form's initial values for the workspace's policy and usage settings."""
        initial = {name: getattr(policy, name) for name in FIELDS}
        for name in ("default_rate_period", "default_quota_period"):
            if not initial[name]:
                del initial[name]  # the field's own initial choice
        initial["email_on_new_ip"] = settings.email_on_new_ip
        return initial

    def focus_first_error(self) -> None:
        """Put the focus on the first field in error when the form is swapped in (htmx honours
        autofocus); the button that sent it is gone."""
        for name in self.fields:
            if name in self.errors:
                self.fields[name].widget.attrs["autofocus"] = True
                return

    def policy_arguments(self) -> dict:
        """Return set_limit_policy's arguments."""
        return {name: self.cleaned_data.get(name) for name in FIELDS}
