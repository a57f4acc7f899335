"""Settings → Limits & usage: who sees it, saving through HTMX, field errors, audit, CSRF."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from gateway.limit_models import MAX_LIMIT, LimitPolicy, TokenLimits
from gateway.usage_models import UsageSettings
from tests.factories import HTMX, issue, signed_in, triggers
from tokens.models import Token


def url(workspace) -> str:
    return reverse("gateway_limits:policy", args=[workspace.slug])


def form(**fields) -> dict:
    return {
        "default_rate": "",
        "default_rate_period": "minute",
        "default_burst": "",
        "default_quota": "",
        "default_quota_period": "month",
        "max_rate_per_minute": "",
        "max_burst": "",
        "max_quota": "",
        **fields,
    }


def test_admins_see_the_tab_and_the_page(admin_user, workspace):
    page = signed_in(admin_user).get(url(workspace))
    assert page.status_code == 200
    assert f'<a href="{url(workspace)}" aria-current="page">Limits &amp; usage</a>' in page.text
    assert '<h2 id="limit-policy-heading">Limits &amp; usage</h2>' in page.text
    # The other tabs link to it too.
    policies = signed_in(admin_user).get(reverse("tokens:policies", args=[workspace.slug]))
    assert f'<a href="{url(workspace)}">Limits &amp; usage</a>' in policies.text


@pytest.mark.parametrize("user", ["manager_user", "member_user"])
def test_managers_and_members_neither_see_nor_open_it(request, user, workspace):
    client = signed_in(request.getfixturevalue(user))
    assert url(workspace) not in client.get(reverse("tokens:policies", args=[workspace.slug])).text
    assert client.get(url(workspace)).status_code == 403
    assert client.post(url(workspace), form(max_quota="10")).status_code == 403
    assert client.post(url(workspace), form(max_quota="10"), **HTMX).status_code == 403
    assert not LimitPolicy.objects.exists()


def test_outsiders_get_a_404(outsider, workspace):
    assert signed_in(outsider).get(url(workspace)).status_code == 404


def test_saving_through_htmx_swaps_the_form_announces_and_audits(admin_user, workspace):
    data = form(
        default_rate="100",
        default_burst="150",
        default_quota="5000",
        max_rate_per_minute="600",
        max_burst="200",
        max_quota="10000",
        email_on_new_ip="on",
    )
    response = signed_in(admin_user).post(url(workspace), data, **HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="limit-policy">')
    assert response["HX-Retarget"] == "#limit-policy"
    assert triggers(response)["toast"] == {"message": "Limits & usage saved.", "level": "success"}
    assert 'name="default_rate" value="100"' in response.text
    assert "gets 100 requests per minute (burst 150); 5,000 uses each month." in response.text
    policy = LimitPolicy.objects.get(workspace=workspace)
    assert (policy.default_rate, policy.default_burst, policy.max_quota) == (100, 150, 10000)
    assert UsageSettings.objects.get(workspace=workspace).email_on_new_ip
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        "limit_policy.updated",
        "usage_settings.updated",
    }
    again = signed_in(admin_user).post(url(workspace), data, **HTMX)
    assert triggers(again)["toast"]["message"] == "Nothing changed."
    assert AuditEvent.objects.count() == 2


def test_without_htmx_saving_redirects_back(admin_user, workspace):
    response = signed_in(admin_user).post(url(workspace), form(max_quota="10"))
    assert response.status_code == 302
    assert response["Location"] == url(workspace)
    assert LimitPolicy.objects.get(workspace=workspace).max_quota == 10


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"default_rate": "0"}, "default_rate", "greater than or equal to 1"),
        ({"max_burst": "-4"}, "max_burst", "greater than or equal to 1"),
        ({"max_quota": str(MAX_LIMIT + 1)}, "max_quota", "less than or equal to"),
        ({"default_quota": "lots"}, "default_quota", "Enter a whole number."),
        ({"default_rate": "5", "default_burst": "4"}, "default_burst", "at least the rate"),
        ({"default_burst": "4"}, "default_rate", "Enter a default rate"),
        (
            {"default_rate": "2", "default_rate_period": "second", "max_rate_per_minute": "60"},
            "default_rate",
            "at most 60 requests per minute",
        ),
        ({"default_quota": "11", "max_quota": "10"}, "default_quota", "at most 10 uses"),
    ],
)
def test_bad_values_get_field_errors_and_keep_what_was_typed(
    admin_user, workspace, fields, field, message
):
    typed = form(**{"max_burst": "77", **fields})
    response = signed_in(admin_user).post(url(workspace), typed, **HTMX)
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="limit-policy">')
    error = response.text.split(f'id="id_{field}_error"')[1].split("</div>")[0]
    assert message in error
    for name, value in typed.items():
        if name.endswith("_period"):
            assert f'<option value="{value}" selected>' in response.text
        elif value:
            assert f'name="{name}" value="{value}"' in response.text
    assert "HX-Trigger" not in response
    assert response.text.count(" autofocus") == 1
    assert re.search(rf'<input [^>]*name="{field}"[^>]*autofocus', response.text)
    assert not LimitPolicy.objects.exists()
    assert not AuditEvent.objects.exists()


def test_posting_without_the_csrf_token_is_refused(admin_user, workspace):
    client = signed_in(admin_user, enforce_csrf_checks=True)
    page = client.get(url(workspace))
    assert 'name="csrfmiddlewaretoken"' in page.text
    assert client.post(url(workspace), form(max_quota="10"), **HTMX).status_code == 403
    assert not LimitPolicy.objects.exists()


def test_the_page_shows_the_current_policy(admin_user, workspace):
    LimitPolicy.objects.create(workspace=workspace, max_rate_per_minute=600, max_burst=50)
    UsageSettings.objects.create(workspace=workspace, email_on_new_ip=True)
    page = signed_in(admin_user).get(url(workspace)).text
    assert 'name="max_rate_per_minute" value="600"' in page
    assert 'id="id_email_on_new_ip" checked>' in page
    # No default: a new token gets the fastest rate within the ceilings.
    assert "gets 10 requests per second (burst 10)." in page


# Ceilings over the tokens that exist


def preview_url(workspace) -> str:
    return reverse("gateway_limits:policy_preview", args=[workspace.slug])


def impact(text: str) -> str:
    return text.split('id="ceilings-impact" role="status">')[1].split("</p>")[0]


@pytest.fixture
def two_unlimited_tokens(admin_user, workspace):
    # Issued before any ceiling: no limits of their own.
    issue(admin_user, workspace, "one")
    issue(admin_user, workspace, "two")
    revoked, _ = issue(admin_user, workspace, "revoked")
    Token.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now() - timedelta(days=1))


def test_saving_says_how_many_active_tokens_were_capped(
    admin_user, workspace, two_unlimited_tokens
):
    response = signed_in(admin_user).post(url(workspace), form(max_quota="100"), **HTMX)
    assert triggers(response)["toast"]["message"] == (
        "Limits & usage saved; 2 active tokens capped to the ceilings."
    )
    assert TokenLimits.objects.filter(quota=100).count() == 2
    # Now within them: the line under the ceilings says so.
    assert impact(response.text) == (
        "Saving caps no token: every active token is within these ceilings."
    )
    again = signed_in(admin_user).post(url(workspace), form(max_quota="100"), **HTMX)
    assert triggers(again)["toast"]["message"] == "Nothing changed."


def test_the_preview_counts_the_tokens_the_typed_ceilings_would_cap(
    admin_user, workspace, two_unlimited_tokens
):
    client = signed_in(admin_user)
    response = client.get(preview_url(workspace), {"max_rate_per_minute": "600"}, **HTMX)
    assert response.status_code == 200
    assert response.text.strip() == (
        "Saving caps 2 active tokens beyond these ceilings (or without a limit they cap): "
        "their limits become the ceilings."
    )
    for typed in ({}, {"max_quota": ""}, {"max_quota": "0"}, {"max_burst": "lots"}):
        assert client.get(preview_url(workspace), typed, **HTMX).text.strip() == ""
    # Nothing was saved.
    assert not TokenLimits.objects.exists()
    assert not LimitPolicy.objects.exists()


def test_the_page_and_a_refused_save_show_what_the_ceilings_would_cap(
    admin_user, workspace, two_unlimited_tokens
):
    # A policy saved before ceilings applied to existing tokens.
    LimitPolicy.objects.create(workspace=workspace, max_quota=100)
    page = signed_in(admin_user).get(url(workspace)).text
    assert impact(page).startswith("Saving caps 2 active tokens beyond these ceilings")
    assert f'hx-get="{preview_url(workspace)}"' in page
    refused = form(max_rate_per_minute="60", default_rate="61")
    response = signed_in(admin_user).post(url(workspace), refused, **HTMX)
    assert impact(response.text).startswith("Saving caps 2 active tokens")
    assert not TokenLimits.objects.exists()


@pytest.mark.parametrize("user", ["manager_user", "member_user", "outsider"])
def test_only_admins_preview(request, user, workspace):
    response = signed_in(request.getfixturevalue(user)).get(
        preview_url(workspace), {"max_quota": "1"}, **HTMX
    )
    assert response.status_code in (403, 404)
