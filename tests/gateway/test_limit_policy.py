"""The workspace's limits policy and usage settings (gateway.limit_policy_services), and the
rule that a limit a ceiling caps is never missing from a token."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import AuditEvent
from gateway.limit_models import MAX_LIMIT, LimitPolicy, TokenLimits
from gateway.limit_policy_services import (
    clean_limit_policy,
    set_limit_policy,
    set_usage_settings,
)
from gateway.limit_services import (
    Quota,
    RateLimit,
    ceiling_rate,
    clean_limits,
    default_limits,
    token_limits_set,
)
from gateway.usage_models import UsageSettings
from tests.factories import actor_of, issue
from tokens.services import token_rotate


def codes(**values) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        clean_limit_policy(values)
    return {field: [e.code for e in errors] for field, errors in caught.value.error_dict.items()}


# Validation


@pytest.mark.parametrize(
    "field",
    [
        "default_rate",
        "default_burst",
        "default_quota",
        "max_rate_per_minute",
        "max_burst",
        "max_quota",
    ],
)
@pytest.mark.parametrize(
    ("value", "code"),
    [(0, "min_value"), (-3, "min_value"), (MAX_LIMIT + 1, "max_value"), ("many", "invalid")],
)
def test_absurd_counts_get_a_field_error(field, value, code):
    values = {"default_rate": 5, "default_rate_period": "minute", "default_quota_period": "month"}
    values[field] = value
    assert codes(**values) == {field: [code]}


def test_the_largest_count_is_accepted():
    cleaned = clean_limit_policy({"max_quota": MAX_LIMIT, "max_rate_per_minute": str(MAX_LIMIT)})
    assert (cleaned["max_quota"], cleaned["max_rate_per_minute"]) == (MAX_LIMIT, MAX_LIMIT)


def test_a_default_burst_needs_a_rate_and_is_at_least_it():
    assert codes(default_burst=10) == {"default_rate": ["required"]}
    assert codes(default_rate=10, default_rate_period="minute", default_burst=9) == {
        "default_burst": ["burst_below_rate"]
    }


def test_a_default_needs_a_known_period():
    assert codes(default_rate=10, default_rate_period="hour") == {
        "default_rate_period": ["invalid_choice"]
    }
    assert codes(default_quota=10, default_quota_period="") == {
        "default_quota_period": ["invalid_choice"]
    }


def test_defaults_must_lie_within_the_ceilings():
    within = {
        "default_rate": 10,
        "default_rate_period": "second",
        "default_burst": 50,
        "default_quota": 1000,
        "default_quota_period": "month",
        "max_rate_per_minute": 600,
        "max_burst": 50,
        "max_quota": 1000,
    }
    assert clean_limit_policy(within)["default_rate"] == 10
    # 11 per second is 660 per minute.
    beyond = {**within, "default_rate": 11, "default_burst": 51, "default_quota": 1001}
    assert codes(**beyond) == {
        "default_rate": ["above_ceiling"],
        "default_burst": ["above_ceiling"],
        "default_quota": ["above_ceiling"],
    }


def test_an_empty_policy_is_valid_and_a_period_without_its_count_is_not_kept():
    cleaned = clean_limit_policy({"default_rate_period": "minute", "default_quota_period": "month"})
    assert set(cleaned.values()) == {None, ""}


# The services


def test_setting_the_policy_is_audited_once_per_change(admin_user, workspace):
    actor = actor_of(admin_user, workspace)
    change = set_limit_policy(
        actor=actor, workspace=workspace, default_rate="100", default_rate_period="minute"
    )
    assert change.changed == {
        "default_rate": {"from": None, "to": 100},
        "default_rate_period": {"from": "", "to": "minute"},
    }
    policy = LimitPolicy.objects.get(workspace=workspace)
    assert (policy.default_rate, policy.default_burst) == (100, None)
    again = set_limit_policy(
        actor=actor, workspace=workspace, default_rate=100, default_rate_period="minute"
    )
    assert again.changed == {}
    event = AuditEvent.objects.get(action="limit_policy.updated")
    assert event.workspace == workspace
    assert event.details["changed"]["default_rate"] == {"from": None, "to": 100}


def test_a_refused_policy_changes_nothing(admin_user, workspace):
    with pytest.raises(ValidationError):
        set_limit_policy(
            actor=actor_of(admin_user, workspace),
            workspace=workspace,
            default_quota=11,
            default_quota_period="month",
            max_quota=10,
        )
    assert not LimitPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action="limit_policy.updated").exists()


@pytest.mark.parametrize("user", ["manager_user", "member_user"])
def test_only_admins_change_the_policy_or_the_usage_settings(request, user, workspace):
    actor = actor_of(request.getfixturevalue(user), workspace)
    with pytest.raises(PermissionDenied):
        set_limit_policy(actor=actor, workspace=workspace, max_quota=10)
    with pytest.raises(PermissionDenied):
        set_usage_settings(actor=actor, workspace=workspace, email_on_new_ip=True)
    assert not LimitPolicy.objects.exists()
    assert not UsageSettings.objects.filter(email_on_new_ip=True).exists()


def test_the_new_ip_email_switch_is_audited_when_it_changes(admin_user, workspace):
    actor = actor_of(admin_user, workspace)
    assert set_usage_settings(actor=actor, workspace=workspace, email_on_new_ip=True).changed
    assert not set_usage_settings(actor=actor, workspace=workspace, email_on_new_ip=True).changed
    assert UsageSettings.objects.get(workspace=workspace).email_on_new_ip
    event = AuditEvent.objects.get(action="usage_settings.updated")
    assert event.details == {"changed": {"email_on_new_ip": {"from": False, "to": True}}}


# Ceilings without defaults


@pytest.mark.parametrize(
    ("max_rate_per_minute", "max_burst", "rate"),
    [
        (600, None, (600, "minute")),
        (600, 600, (600, "minute")),
        # A burst ceiling below the rate's: per second does more than a per-minute rate could.
        (600, 50, (10, "second")),
        (6000, 50, (50, "second")),
        (30, 10, (10, "minute")),
        (100, 50, (1, "second")),  # 60 a minute
        (100, 70, (70, "minute")),
    ],
)
def test_the_ceiling_rate_is_the_fastest_within_the_ceilings(max_rate_per_minute, max_burst, rate):
    policy = LimitPolicy(max_rate_per_minute=max_rate_per_minute, max_burst=max_burst)
    assert ceiling_rate(policy) == rate
    requests, per = rate
    # It passes the service's own check (its burst is the rate).
    assert clean_limits(RateLimit(requests, per), None, policy).rate == requests


def test_without_defaults_a_new_token_gets_the_ceilings(admin_user, workspace):
    LimitPolicy.objects.create(workspace=workspace, max_rate_per_minute=120, max_quota=5000)
    token, _ = issue(admin_user, workspace, "capped")
    row = TokenLimits.objects.get(token=token)
    assert (row.rate, row.rate_period, row.burst) == (120, "minute", 120)
    assert (row.quota, row.quota_period) == (5000, "month")


def test_a_default_wins_over_the_ceiling_for_its_limit_alone(workspace):
    LimitPolicy.objects.create(
        workspace=workspace,
        default_rate=10,
        default_rate_period="second",
        max_rate_per_minute=6000,
        max_quota=100,
        default_quota_period="total",
    )
    limits = default_limits(workspace.pk)
    assert (limits.rate, limits.rate_period, limits.burst) == (10, "second", 10)
    assert (limits.quota, limits.quota_period) == (100, "total")


def test_a_rotated_unlimited_token_is_capped_by_a_ceiling_set_since(admin_user, workspace):
    token, _ = issue(admin_user, workspace, "old")
    assert not TokenLimits.objects.filter(token=token).exists()
    LimitPolicy.objects.create(workspace=workspace, max_rate_per_minute=60)
    new_token, _ = token_rotate(actor=actor_of(admin_user, workspace), token=token)
    assert TokenLimits.objects.get(token=new_token).rate == 60


def test_removing_a_limit_under_its_ceiling_is_refused(admin_user, workspace):
    LimitPolicy.objects.create(workspace=workspace, max_rate_per_minute=60, max_quota=10)
    token, _ = issue(admin_user, workspace, "capped")
    with pytest.raises(ValidationError) as caught:
        token_limits_set(
            actor=actor_of(admin_user, workspace), token=token, rate=None, quota=Quota(5)
        )
    assert caught.value.error_dict["rate_limit"][0].code == "limit_required"
    assert caught.value.messages == [
        "This workspace requires a rate limit of at most 60 requests per minute."
    ]
    assert TokenLimits.objects.get(token=token).rate == 60
