"""The Edit limits form: a rate and a quota, each optional."""

from __future__ import annotations

from django import forms

from gateway.limit_models import MAX_LIMIT, QuotaPeriod, RatePeriod
from gateway.limit_services import Quota, RateLimit
from gateway.limit_spec import Limits

# The service names its fields as the API does; the form's fields are flat.
FORM_FIELDS = {
    "rate_limit": "rate",
    "rate_limit.requests": "rate",
    "rate_limit.per": "rate_period",
    "rate_limit.burst": "burst",
    "quota.uses": "quota",
    "quota.period": "quota_period",
}


def limits_of(data: dict) -> tuple[RateLimit | None, Quota | None]:
    """Return the rate limit and the quota in a limits form's data (None for one left empty)."""
    rate = quota = None
    if data.get("rate") is not None:
        rate = RateLimit(data["rate"], data.get("rate_period"), data.get("burst"))
    if data.get("quota") is not None:
        quota = Quota(data["quota"], data.get("quota_period"))
    return rate, quota


QUOTA_REFILLS = [(QuotaPeriod.MONTH, "each month (UTC)"), (QuotaPeriod.TOTAL, "never (in total)")]


def count_field(label: str, help_text: str = "", *, placeholder: str = "") -> forms.IntegerField:
    """Return an optional field for a count a limit names: 1 up to what Redis can count."""
    attrs = {"inputmode": "numeric", "min": 1}
    if placeholder:
        attrs["placeholder"] = placeholder
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=1,
        max_value=MAX_LIMIT,
        help_text=help_text,
        widget=forms.NumberInput(attrs=attrs),
    )


def rate_period_field() -> forms.ChoiceField:
    """Return a field for what a rate is counted per: a second or a minute (the default)."""
    return forms.ChoiceField(label="Per", choices=RatePeriod.choices, initial=RatePeriod.MINUTE)


def quota_period_field() -> forms.ChoiceField:
    """Return a field for when a quota refills: each month (the default) or never."""
    return forms.ChoiceField(label="Refill", choices=QUOTA_REFILLS, initial=QuotaPeriod.MONTH)


class TokenLimitsForm(forms.Form):
    """A rate limit (requests per second or minute, a burst) and a quota; empty: none."""

    rate = count_field("Requests", "Leave empty for no rate limit.")
    rate_period = rate_period_field()
    burst = count_field("Burst", "Requests allowed at once; at least the rate (default: the rate).")
    quota = count_field("Uses", "Leave empty for no quota.")
    quota_period = quota_period_field()

    @staticmethod
    def initial_of(limits: Limits | None) -> dict:
        """Return the form's initial values for a token's current limits."""
        if limits is None:
            return {}
        initial = {"rate": limits.rate, "burst": limits.burst, "quota": limits.quota}
        if limits.rate_period:
            initial["rate_period"] = limits.rate_period
        if limits.quota_period:
            initial["quota_period"] = limits.quota_period
        return initial

    def clean(self):
        data = super().clean()
        if data.get("burst") is not None and data.get("rate") is None:
            self.add_error("rate", "Enter a rate for the burst to apply to.")
        return data

    def service_arguments(self) -> dict:
        """Return the service's rate and quota (None for an empty one)."""
        rate, quota = limits_of(self.cleaned_data)
        return {"rate": rate, "quota": quota}
