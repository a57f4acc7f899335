"""Operators set tokens' limits in Django admin, through the service (checked and audited)."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import AuditEvent
from gateway.limit_models import LimitPolicy, TokenLimits
from gateway.usage_models import UsageSettings
from tests.factories import issue

ADD = reverse("admin:gateway_tokenlimits_add")


def form(token, **fields) -> dict:
    return {
        "token": token.pk,
        "rate": "",
        "rate_period": "",
        "burst": "",
        "quota": "",
        "quota_period": "",
        **fields,
    }


def test_an_operator_adds_limits_and_the_change_is_audited(operator_client, admin_user, workspace):
    token, _ = issue(admin_user, workspace, "ci")
    response = operator_client.post(ADD, form(token, rate="5", rate_period="second"))
    assert response.status_code == 302, response.content
    assert (TokenLimits.objects.get(token=token).burst) == 5  # the service's default burst
    event = AuditEvent.objects.get(action="token.limits_changed")
    assert event.details["to"]["rate_limit"] == {"requests": 5, "per": "second", "burst": 5}


def test_the_admin_form_shows_the_services_refusals(operator_client, admin_user, workspace):
    token, _ = issue(admin_user, workspace, "ci")
    LimitPolicy.objects.create(workspace=workspace, max_quota=10)
    bad = form(token, rate="5", rate_period="second", burst="4", quota="11", quota_period="total")
    response = operator_client.post(ADD, bad)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "at least the rate" in str(errors["burst"])
    assert not TokenLimits.objects.exists()
    bad = form(token, rate="5", rate_period="second", quota="11", quota_period="total")
    errors = operator_client.post(ADD, bad).context["adminform"].form.errors
    assert "at most 10 uses" in str(errors["quota"])


def test_the_limit_pages_answer(operator_client):
    for name in ("gateway_tokenlimits_changelist", "gateway_limitpolicy_changelist"):
        assert operator_client.get(reverse(f"admin:{name}")).status_code == 200


POLICY_ADD = reverse("admin:gateway_limitpolicy_add")


def policy_form(workspace, **fields) -> dict:
    return {
        "workspace": workspace.pk,
        "default_rate": "",
        "default_rate_period": "",
        "default_burst": "",
        "default_quota": "",
        "default_quota_period": "",
        "max_rate_per_minute": "",
        "max_burst": "",
        "max_quota": "",
        **fields,
    }


def test_an_operator_sets_a_policy_through_the_service(operator_client, workspace):
    response = operator_client.post(
        POLICY_ADD, policy_form(workspace, default_quota="10", default_quota_period="month")
    )
    assert response.status_code == 302, response.content
    assert LimitPolicy.objects.get(workspace=workspace).default_quota == 10
    event = AuditEvent.objects.get(action="limit_policy.updated")
    assert event.details["changed"]["default_quota"] == {"from": None, "to": 10}
    change = reverse("admin:gateway_limitpolicy_change", args=[workspace.pk])
    data = policy_form(workspace, default_quota="10", default_quota_period="month", max_quota="5")
    refused = operator_client.post(change, data)
    assert refused.status_code == 200
    errors = refused.context["adminform"].form.errors
    assert "at most 5 uses" in str(errors["default_quota"])
    assert LimitPolicy.objects.get(workspace=workspace).max_quota is None


def test_an_operator_switches_the_new_ip_email_through_the_service(operator_client, workspace):
    add = reverse("admin:gateway_usagesettings_add")
    response = operator_client.post(add, {"workspace": workspace.pk, "email_on_new_ip": "on"})
    assert response.status_code == 302, response.content
    assert UsageSettings.objects.get(workspace=workspace).email_on_new_ip
    event = AuditEvent.objects.get(action="usage_settings.updated")
    assert event.details["changed"]["email_on_new_ip"] == {"from": False, "to": True}
