"""Saving a workspace's ceilings caps the active tokens that exist (gateway.limit_ceilings):
the arithmetic, who is left alone, the audit, the rollback, and a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import AuditEvent
from gateway import limit_policy_services
from gateway.limit_ceilings import capped
from gateway.limit_models import MAX_LIMIT, LimitPolicy, TokenLimits
from gateway.limit_policy_services import set_limit_policy
from gateway.limit_services import over_ceilings
from gateway.limit_spec import Limits
from tests.factories import actor_of, issue
from tokens.models import Token
from tokens.services import token_rotate


def rate(requests: int, per: str, burst: int | None = None) -> Limits:
    return Limits(rate=requests, rate_period=per, burst=burst or requests)


def quota(uses: int, period: str) -> Limits:
    return Limits(quota=uses, quota_period=period)


# The arithmetic


@pytest.mark.parametrize(
    ("limits", "ceilings", "expected"),
    [
        # A per-second rate above the fastest rate becomes that rate per minute.
        (rate(30, "second"), {"max_rate_per_minute": 1200}, rate(1200, "minute")),
        (rate(20, "second"), {"max_rate_per_minute": 1200}, rate(20, "second")),
        (rate(21, "second", 40), {"max_rate_per_minute": 1200}, rate(1200, "minute")),
        # Without a burst ceiling a larger burst stays.
        (rate(2000, "minute", 2500), {"max_rate_per_minute": 1200}, rate(1200, "minute", 2500)),
        (rate(1200, "minute"), {"max_rate_per_minute": 1200}, rate(1200, "minute")),
        (rate(100, "minute", 500), {"max_burst": 200}, rate(100, "minute", 200)),
        # A rate its burst ceiling cannot cover: the fastest rate whose burst fits.
        (rate(1000, "minute"), {"max_burst": 10}, rate(10, "second")),
        (rate(30, "minute"), {"max_burst": 10}, rate(10, "minute")),
        (rate(100, "second"), {"max_burst": 20}, rate(20, "second")),
        (
            rate(100, "second"),
            {"max_rate_per_minute": 600, "max_burst": 50},
            rate(10, "second", 50),
        ),
        (quota(5000, "total"), {"max_quota": 1000}, quota(1000, "total")),
        (quota(5000, "month"), {"max_quota": 1000}, quota(1000, "month")),
        (quota(999, "month"), {"max_quota": 1000}, quota(999, "month")),
        (rate(MAX_LIMIT, "second"), {"max_rate_per_minute": MAX_LIMIT}, rate(MAX_LIMIT, "minute")),
    ],
)
def test_limits_beyond_a_ceiling_become_the_ceiling(limits, ceilings, expected):
    assert capped(limits, LimitPolicy(**ceilings)) == expected


def test_a_missing_limit_gets_the_default_or_else_the_ceiling():
    policy = LimitPolicy(max_rate_per_minute=1200, max_quota=1000)
    assert capped(None, policy) == Limits(1200, "minute", 1200, 1000, "month")
    policy.default_rate, policy.default_rate_period, policy.default_burst = 10, "second", 20
    policy.default_quota, policy.default_quota_period = 500, "total"
    assert capped(None, policy) == Limits(10, "second", 20, 500, "total")
    # Only the limits a ceiling caps are given.
    assert capped(quota(10, "month"), LimitPolicy(max_rate_per_minute=60)) == Limits(
        60, "minute", 60, 10, "month"
    )
    assert capped(None, LimitPolicy(max_burst=5)) is None
    assert capped(rate(5, "second"), LimitPolicy()) == rate(5, "second")


COUNT = st.integers(min_value=1, max_value=MAX_LIMIT)
SMALL = st.integers(min_value=1, max_value=5000)


@st.composite
def token_limits(draw) -> Limits | None:
    requests = draw(st.one_of(st.none(), COUNT, SMALL))
    uses = draw(st.one_of(st.none(), COUNT, SMALL))
    limits = Limits()
    if requests is not None:
        burst = draw(st.integers(min_value=requests, max_value=MAX_LIMIT))
        per = draw(st.sampled_from(["second", "minute"]))
        limits = rate(requests, per, burst)
    if uses is not None:
        period = draw(st.sampled_from(["total", "month"]))
        limits = Limits(limits.rate, limits.rate_period, limits.burst, uses, period)
    return limits if requests is not None or uses is not None else None


def per_minute(limits: Limits) -> int:
    return limits.rate * 60 // limits.rate_seconds


# No deadline: a loaded machine must not fail a test about arithmetic.
@settings(deadline=None, max_examples=300)
@given(
    limits=token_limits(),
    ceilings=st.fixed_dictionaries(
        {},
        optional={
            "max_rate_per_minute": st.one_of(COUNT, SMALL),
            "max_burst": st.one_of(COUNT, SMALL),
            "max_quota": st.one_of(COUNT, SMALL),
        },
    ),
)
def test_capped_limits_pass_the_ceilings_and_never_loosen_a_limit(limits, ceilings):
    policy = LimitPolicy(**ceilings)
    after = capped(limits, policy)
    errors: dict = {}
    over_ceilings(after or Limits(), policy, errors)
    assert errors == {}
    if after is None:
        return
    assert after.rate is None or after.burst >= after.rate
    if limits is not None and limits.rate is not None:
        assert per_minute(after) <= per_minute(limits)
    if limits is not None and limits.quota is not None:
        assert after.quota <= limits.quota
        assert after.quota_period == limits.quota_period
    if after == limits:
        return
    # Only what a ceiling names changes.
    if limits is not None and limits.rate is not None and after.rate_dict() != limits.rate_dict():
        assert "max_rate_per_minute" in ceilings or "max_burst" in ceilings


# The service


@pytest.fixture
def actor(admin_user, workspace):
    return actor_of(admin_user, workspace)


def limited(token: Token, **fields) -> Token:
    """Give `token` these limits directly, as if set before any ceiling."""
    TokenLimits.objects.update_or_create(token=token, defaults=fields)
    return token


def made(user, workspace, name: str, **fields) -> Token:
    """Issue a token and give it these limits directly."""
    return limited(issue(user, workspace, name)[0], **fields)


def limits_of(token: Token) -> Limits | None:
    row = TokenLimits.objects.filter(token=token).first()
    if row is None:
        return None
    return Limits(row.rate, row.rate_period, row.burst, row.quota, row.quota_period)


def test_saving_ceilings_caps_the_active_tokens_beyond_them(actor, admin_user, workspace):
    fast = made(admin_user, workspace, "fast", rate=30, rate_period="second", burst=30)
    slow = made(admin_user, workspace, "slow", rate=5, rate_period="second", burst=5)
    hoarder = made(admin_user, workspace, "hoarder", quota=9000, quota_period="total")
    unlimited, _ = issue(admin_user, workspace, "unlimited")
    change = set_limit_policy(
        actor=actor, workspace=workspace, max_rate_per_minute=1200, max_quota=1000
    )
    assert change.tokens_capped == 4
    assert limits_of(fast) == Limits(1200, "minute", 1200, 1000, "month")
    # Within the rate ceiling, it only gains the quota it lacked.
    assert limits_of(slow) == Limits(5, "second", 5, 1000, "month")
    assert limits_of(hoarder) == Limits(1200, "minute", 1200, 1000, "total")
    assert limits_of(unlimited) == Limits(1200, "minute", 1200, 1000, "month")
    # Saved again, nothing is beyond them any more.
    again = set_limit_policy(
        actor=actor, workspace=workspace, max_rate_per_minute=1200, max_quota=1000
    )
    assert (again.changed, again.tokens_capped) == ({}, 0)


def test_missing_limits_get_the_workspace_defaults(actor, admin_user, workspace):
    unlimited, _ = issue(admin_user, workspace, "unlimited")
    set_limit_policy(
        actor=actor,
        workspace=workspace,
        default_rate=10,
        default_rate_period="second",
        default_burst=20,
        default_quota=500,
        default_quota_period="total",
        max_rate_per_minute=1200,
        max_quota=1000,
    )
    assert limits_of(unlimited) == Limits(10, "second", 20, 500, "total")


def test_burst_ceiling_caps_the_burst_and_never_below_the_rate(actor, admin_user, workspace):
    wide = made(admin_user, workspace, "wide", rate=100, rate_period="minute", burst=500)
    steep = made(admin_user, workspace, "steep", rate=1000, rate_period="minute", burst=1000)
    set_limit_policy(actor=actor, workspace=workspace, max_burst=200)
    assert limits_of(wide) == Limits(100, "minute", 200)
    # 16 a second (960 a minute) goes further than 200 a minute.
    assert limits_of(steep) == Limits(16, "second", 200)


def test_ended_tokens_and_other_workspaces_are_left_alone(
    actor, admin_user, workspace, other_workspace, outsider
):
    past = timezone.now() - timedelta(days=1)
    revoked = made(admin_user, workspace, "revoked", quota=9000, quota_period="month")
    expired = made(admin_user, workspace, "expired", quota=9000, quota_period="month")
    Token.objects.filter(pk=revoked.pk).update(revoked_at=past)
    Token.objects.filter(pk=expired.pk).update(expires_at=past)
    bare_revoked, _ = issue(admin_user, workspace, "bare")
    Token.objects.filter(pk=bare_revoked.pk).update(revoked_at=past)
    elsewhere = made(outsider, other_workspace, "elsewhere", quota=9000, quota_period="month")
    # Revoked in the future (a rotation's grace period): still active, so capped.
    in_grace = made(admin_user, workspace, "grace", quota=9000, quota_period="month")
    Token.objects.filter(pk=in_grace.pk).update(revoked_at=timezone.now() + timedelta(hours=1))

    change = set_limit_policy(actor=actor, workspace=workspace, max_quota=100)
    assert change.tokens_capped == 1
    assert limits_of(in_grace).quota == 100
    for token in (revoked, expired, elsewhere):
        assert limits_of(token).quota == 9000
    assert limits_of(bare_revoked) is None


def test_each_capped_token_is_audited(actor, admin_user, workspace):
    fast = made(admin_user, workspace, "fast", rate=30, rate_period="second", burst=30)
    unlimited, _ = issue(admin_user, workspace, "unlimited")
    issue(admin_user, workspace, "within")
    limited(Token.objects.get(name="within"), rate=1, rate_period="minute", burst=1)
    set_limit_policy(actor=actor, workspace=workspace, max_rate_per_minute=600)

    events = AuditEvent.objects.filter(action="token.limits_changed").order_by("target_label")
    assert [event.target_id for event in events] == [fast.public_id, unlimited.public_id]
    first = events[0]
    assert first.workspace == workspace
    assert first.actor_user == admin_user
    assert first.target_label == "fast"
    assert first.details == {
        "name": "fast",
        "from": {"rate_limit": {"requests": 30, "per": "second", "burst": 30}, "quota": None},
        "to": {"rate_limit": {"requests": 600, "per": "minute", "burst": 600}, "quota": None},
        "reason": "workspace_ceilings",
    }
    assert events[1].details["from"] == {"rate_limit": None, "quota": None}
    policy_event = AuditEvent.objects.get(action="limit_policy.updated")
    assert policy_event.details["tokens_capped"] == 2


def test_saving_an_unchanged_policy_caps_tokens_issued_before_this_rule(
    actor, admin_user, workspace
):
    LimitPolicy.objects.create(workspace=workspace, max_quota=100)
    old = made(admin_user, workspace, "old", quota=9000, quota_period="month")
    change = set_limit_policy(actor=actor, workspace=workspace, max_quota=100)
    assert (change.changed, change.tokens_capped) == ({}, 1)
    assert limits_of(old).quota == 100
    assert not AuditEvent.objects.filter(action="limit_policy.updated").exists()
    assert AuditEvent.objects.filter(action="token.limits_changed").count() == 1


def test_a_failure_after_capping_rolls_everything_back(actor, admin_user, workspace, monkeypatch):
    fast = made(admin_user, workspace, "fast", rate=30, rate_period="second", burst=30)
    unlimited, _ = issue(admin_user, workspace, "unlimited")

    def broken(**kwargs):
        raise RuntimeError("audit log unavailable")

    monkeypatch.setattr(limit_policy_services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        set_limit_policy(actor=actor, workspace=workspace, max_rate_per_minute=60)
    assert limits_of(fast) == Limits(30, "second", 30)
    assert limits_of(unlimited) is None
    assert not LimitPolicy.objects.filter(max_rate_per_minute=60).exists()
    assert not AuditEvent.objects.filter(action="token.limits_changed").exists()


def test_a_refused_policy_caps_nothing(actor, admin_user, workspace):
    unlimited, _ = issue(admin_user, workspace, "unlimited")
    with pytest.raises(ValidationError):
        set_limit_policy(
            actor=actor,
            workspace=workspace,
            max_quota=10,
            default_quota=11,
            default_quota_period="month",
        )
    assert limits_of(unlimited) is None


@pytest.mark.parametrize("tokens", [2, 12])
def test_capping_costs_the_same_queries_for_any_number_of_tokens(
    tokens, actor, admin_user, workspace, django_assert_num_queries
):
    for number in range(tokens):
        token, _ = issue(admin_user, workspace, f"t{number}")
        if number % 2:  # half have limits beyond the ceilings, half none
            limited(token, rate=100, rate_period="second", burst=100)
    # The workspace's lock, the policy's get_or_create and save (six with the savepoints),
    # the active tokens beyond the ceilings, one update of the rows that exist, one insert
    # of the missing ones, one insert of every token's event, the policy's own event.
    with django_assert_num_queries(13):
        change = set_limit_policy(actor=actor, workspace=workspace, max_rate_per_minute=600)
    assert change.tokens_capped == tokens
    assert TokenLimits.objects.filter(rate=600, rate_period="minute").count() == tokens


def test_the_django_admin_caps_tokens_through_the_same_service(
    operator_client, admin_user, workspace
):
    unlimited, _ = issue(admin_user, workspace, "unlimited")
    data = {"workspace": workspace.pk, "max_quota": "50"}
    data |= {name: "" for name in limit_policy_services.FIELDS if name != "max_quota"}
    response = operator_client.post(reverse("admin:gateway_limitpolicy_add"), data)
    assert response.status_code == 302, response.content
    assert limits_of(unlimited) == Limits(quota=50, quota_period="month")
    event = AuditEvent.objects.get(action="token.limits_changed")
    assert event.details["reason"] == "workspace_ceilings"


def test_a_rotated_tokens_successor_is_held_to_the_ceilings(actor, admin_user, workspace):
    token = limited(issue(admin_user, workspace, "above")[0], quota=5000, quota_period="month")
    # A ceiling the token escaped (saved outside the service, or while it was being set).
    LimitPolicy.objects.create(workspace=workspace, max_quota=1000)

    successor, _ = token_rotate(actor=actor, token=token)

    assert limits_of(successor) == Limits(quota=1000, quota_period="month")
