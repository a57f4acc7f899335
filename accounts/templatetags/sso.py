"""Template helpers for single sign-on: the login page's SSO button and refusal message."""

from __future__ import annotations

from django import template
from django.http import QueryDict
from django.urls import reverse
from django.utils.html import format_html

from accounts.signin import oidc_config
from accounts.signin.oidc import REFUSAL_MESSAGES

register = template.Library()


def sso_login_url(next_url: str = "") -> str:
    """Return the URL that starts a single sign-on, then goes to `next_url`."""
    url = reverse("accounts:sso_login")
    if next_url:
        query = QueryDict(mutable=True)
        query["next"] = next_url
        url = f"{url}?{query.urlencode()}"
    return url


@register.inclusion_tag("accounts/sso_sign_in.html")
def sso_sign_in(next_url: str = "") -> dict:
    """Render the SSO button, when SSO is configured."""
    return {
        "enabled": oidc_config.is_enabled(),
        "provider": oidc_config.provider_name(),
        "url": sso_login_url(next_url),
    }


@register.simple_tag(takes_context=True)
def sso_refusal(context) -> str:
    """Render why the last single sign-on was refused (the login page's `sso` parameter)."""
    request = context.get("request")
    message = REFUSAL_MESSAGES.get(request.GET.get("sso", "") if request else "")
    if not message:
        return ""
    return format_html('<div class="alert alert-error" role="alert"><p>{}</p></div>', message)


@register.inclusion_tag("accounts/sso_policy_summary.html")
def sso_policy_summary(workspace, membership) -> dict:
    """Render the Policies tab's summary of the workspace's single sign-on, with its link."""
    from accounts.permissions import Perm, has_perm
    from accounts.signin import sso

    return {
        "workspace": workspace,
        "config": sso.sso_settings(workspace),
        "enabled": oidc_config.is_enabled(),
        "may_edit": has_perm(membership, Perm.POLICIES_MANAGE),
    }
