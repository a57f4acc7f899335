"""The console's HTTP service form: match rules as lines, and the methods that only read.

The form only splits what was typed; gateway.services checks it (hosts, prefixes,
methods, overlaps with other services) and its field errors come back next to
the field that holds the mistake, with everything typed still there.
"""

from __future__ import annotations

import re

from django import forms

from gateway.models import DEFAULT_METHOD_SCOPES, SLUG_MAX_LENGTH

RULES_HELP = (
    "One per line: a host and, when the service is only part of it, a path prefix, "
    "e.g. <code>orders.example.com/v1</code>. <code>*.example.com</code> covers every name "
    "below example.com. Requests that match no service are refused."
)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s,]+")
_SPACED = re.compile(r"(?P<host>\S+)\s+(?P<prefix>/.*)")


def split_rule(line: str) -> tuple[str, str]:
    """Return the host and path prefix of one typed rule (`host/prefix` or `host /prefix`)."""
    value = _SCHEME.sub("", line.strip(), count=1)
    spaced = _SPACED.fullmatch(value)
    if spaced:
        return spaced["host"], spaced["prefix"]
    host, slash, prefix = value.partition("/")
    return host, f"/{prefix}" if slash else "/"


def default_read_methods() -> str:
    return " ".join(method for method, level in DEFAULT_METHOD_SCOPES.items() if level == "read")


class ServiceForm(forms.Form):
    """A resource's match rules, scope name and read methods, as the console edits them."""

    rules = forms.CharField(
        label="Match rules",
        widget=forms.Textarea(
            attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"},
        ),
        error_messages={"required": "Give at least one host (and path prefix)."},
        help_text=RULES_HELP,
    )
    slug = forms.CharField(
        label="Scope name",
        required=False,
        max_length=SLUG_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="Tokens get <code>&lt;name&gt;:read</code> and <code>&lt;name&gt;:write</code>. "
        "Empty: made from the resource's name.",
    )
    read_methods = forms.CharField(
        label="Methods that only read",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text="These need <code>:read</code>; every other method needs <code>:write</code>. "
        "Empty: every method needs <code>:write</code>.",
    )

    def service_arguments(self) -> dict:
        """Return the service's arguments: (host, prefix) pairs and the method → level map."""
        lines = [line for line in self.cleaned_data["rules"].splitlines() if line.strip()]
        methods = _SEPARATORS.split(self.cleaned_data["read_methods"].strip().upper())
        return {
            "rules": [split_rule(line) for line in lines],
            "slug": self.cleaned_data["slug"].strip(),
            "method_scopes": {method: "read" for method in methods if method},
        }


def initial_for(service) -> dict:
    """Return the form's initial values: the service's, or the defaults for a new one."""
    if service is None:
        return {"read_methods": default_read_methods()}
    return {
        "rules": "\n".join(f"{rule.host}{rule.path_prefix}" for rule in service.rules.all()),
        "slug": service.slug,
        "read_methods": " ".join(
            method for method, level in service.method_scopes.items() if level == "read"
        ),
    }
