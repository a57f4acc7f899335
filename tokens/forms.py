"""Forms of the Tokens tab: create, rename, rotate (checking a value: tokens.checking)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.utils import timezone

from accounts.text import text_form_field
from tokens import scopes as scope_catalogue
from tokens import validation
from tokens.models import RotationGrace, Token, TokenKind, WorkspacePolicy

CUSTOM = "custom"
NEVER = "never"
EXPIRY_DAYS = (7, 30, 60, 90)


class TokenCreateForm(forms.Form):
    """Everything a new token needs; the service checks it all again."""

    name = text_form_field(
        Token,
        "name",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "e.g. ci-deploy"}),
        help_text="Say where it will be used, so you know what breaks if you revoke it.",
    )
    description = text_form_field(Token, "description")
    kind = forms.ChoiceField(
        choices=TokenKind.choices,
        initial=TokenKind.WORKSPACE,
        widget=forms.RadioSelect,
        help_text="A workspace token is a service identity that outlives its creator; "
        "a personal token acts as you and is revoked when you leave.",
    )
    preset = forms.ChoiceField(widget=forms.RadioSelect, label="Access")
    scopes = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Scopes"
    )
    resources = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked to allow every resource.",
    )
    expiration = forms.ChoiceField(widget=forms.RadioSelect, label="Expiration")
    expires_on = forms.DateField(
        required=False, label="Expires on", widget=forms.DateInput(attrs={"type": "date"})
    )
    allowed_ips = forms.CharField(
        required=False,
        label="Allowed IP ranges",
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "203.0.113.0/24"}),
        help_text="One CIDR range per line. Empty allows any client address.",
    )

    def __init__(
        self,
        *args,
        grantable: set[str],
        kinds: list[str],
        policy: WorkspacePolicy,
        resources=(),
        workspace=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.policy = policy
        catalogue = scope_catalogue.catalogue(workspace.pk if workspace is not None else None)
        self.scope_entries = [
            {
                "name": s.name,
                "label": s.label,
                "description": s.description,
                "allowed": s.name in grantable,
                "resource": s.resource,
                "summary": s.summary,
            }
            for s in catalogue.values()
        ]
        self.fields["scopes"].choices = [(s.name, s.name) for s in catalogue.values()]
        self.presets = [
            {
                "key": p.key,
                "label": p.label,
                "scopes": p.scopes,
                "allowed": set(p.scopes) <= grantable,
            }
            for p in scope_catalogue.presets()
        ]
        allowed_presets = [p for p in self.presets if p["allowed"]]
        self.fields["preset"].choices = [(p["key"], p["label"]) for p in allowed_presets] + [
            (CUSTOM, "Choose scopes")
        ]
        self.fields["preset"].initial = allowed_presets[0]["key"] if allowed_presets else CUSTOM
        if allowed_presets:
            self.fields["scopes"].initial = list(allowed_presets[0]["scopes"])
        self.fields["resources"].choices = [(str(r.pk), r.name) for r in resources]
        self.fields["expiration"].choices = self._expiration_choices()
        days = self._expiry_days()
        default = validation.DEFAULT_LIFETIME_DAYS
        self.fields["expiration"].initial = (
            str(default) if default in days else str(days[-1]) if days else CUSTOM
        )
        self.fields["kind"].choices = [(k, TokenKind(k).label) for k in kinds]
        if kinds and TokenKind.WORKSPACE not in kinds:
            self.fields["kind"].initial = kinds[0]

    def _expiry_days(self) -> list[int]:
        limit = self.policy.max_lifetime_days
        return [d for d in EXPIRY_DAYS if limit is None or d <= limit]

    def _expiration_choices(self) -> list[tuple[str, str]]:
        choices = [(str(d), f"{d} days") for d in self._expiry_days()]
        choices.append((CUSTOM, "Custom date"))
        if self.policy.never_expiring_allowed:
            choices.append((NEVER, "No expiration"))
        return choices

    @property
    def presets_json(self) -> str:
        """Return the presets' scopes as JSON, for the form's script."""
        return json.dumps({p["key"]: list(p["scopes"]) for p in self.presets})

    @property
    def policy_limit_text(self) -> str:
        """Return the workspace's expiry rule in words, for the form."""
        if self.policy.max_lifetime_days:
            days = self.policy.max_lifetime_days
            return f"This workspace allows tokens to live at most {days} days."
        if not self.policy.allow_never_expiring:
            return "This workspace requires every token to have an expiry date."
        return "Tokens without an expiry date are allowed here, but an expiry is safer."

    def clean(self):
        cleaned = super().clean()
        preset = cleaned.get("preset")
        if preset and preset != CUSTOM:
            cleaned["scopes"] = scope_catalogue.preset_scopes(preset)
        elif preset == CUSTOM and not cleaned.get("scopes"):
            self.add_error("scopes", "Choose at least one scope.")
        expiration = cleaned.get("expiration")
        cleaned["expires_at"] = None
        if expiration == CUSTOM:
            day = cleaned.get("expires_on")
            if day is None:
                self.add_error("expires_on", "Choose the date the token expires.")
            else:
                cleaned["expires_at"] = self._end_of(day)
        elif expiration and expiration != NEVER:
            cleaned["expires_at"] = timezone.now() + timedelta(days=int(expiration))
        return cleaned

    def _end_of(self, day) -> datetime:
        """Return the end of `day`, or the policy's limit when `day` is the last day it allows."""
        expires_at = datetime.combine(day, time.max, tzinfo=UTC).replace(microsecond=0)
        if self.policy.max_lifetime_days:
            limit = timezone.now() + timedelta(days=self.policy.max_lifetime_days)
            if day == limit.date():
                expires_at = min(expires_at, limit)
        return expires_at

    def service_arguments(self) -> dict:
        """Return the keyword arguments for services.token_create."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data.get("description", ""),
            "kind": data["kind"],
            "scopes": data["scopes"],
            "resource_ids": data.get("resources", []),
            "allowed_ips": data.get("allowed_ips", ""),
            "expires_at": data["expires_at"],
        }


class TokenRenameForm(forms.Form):
    name = text_form_field(Token, "name", widget=forms.TextInput(attrs={"autocomplete": "off"}))
    description = text_form_field(Token, "description")


class TokenRotateForm(forms.Form):
    grace = forms.ChoiceField(
        label="Keep the old token working for",
        widget=forms.RadioSelect,
        initial=RotationGrace.HOUR,
        choices=RotationGrace.choices,
        help_text="Time to put the new token where the old one is used.",
    )
