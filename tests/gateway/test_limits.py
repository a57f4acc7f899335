"""Per-token limits: rules, counting in each shared cache, enforcement in the check and the API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import AuditEvent
from gateway import limit_counts, limit_notices
from gateway.limit_models import MAX_LIMIT, LimitPolicy, TokenLimits
from gateway.limit_services import Quota, RateLimit, clean_limits, token_limits_set
from gateway.limit_spec import Limits
from tests.factories import actor_of, issue
from tests.gateway.test_views import CHECK, nginx
from tokens.services import token_rotate

WHOAMI = "/api/v1/whoami"


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def limited(admin_user, admin_actor, workspace, billing):
    """Return a function issuing a billing reader with the given limits: (token, secret)."""

    def make(rate=None, quota=None, name="limited"):
        token, secret = issue(admin_user, workspace, name, scopes=["billing:read"])
        token_limits_set(actor=admin_actor, token=token, rate=rate, quota=quota)
        return token, secret

    return make


# Rules


def _errors(rate=None, quota=None, policy=None) -> dict:
    with pytest.raises(ValidationError) as raised:
        clean_limits(rate, quota, policy)
    return {field: [e.code for e in errors] for field, errors in raised.value.error_dict.items()}


@pytest.mark.parametrize("value", [0, -1, MAX_LIMIT + 1, 2**64, "ten", True, None])
def test_absurd_counts_get_field_errors(value):
    expected = "invalid" if value in ("ten", True, None) else None
    rate_errors = _errors(rate=RateLimit(value))["rate_limit.requests"]
    quota_errors = _errors(quota=Quota(value))["quota.uses"]
    assert rate_errors == quota_errors
    assert rate_errors == [expected or ("min_value" if value < 1 else "max_value")]


def test_the_largest_count_is_accepted():
    limits = clean_limits(RateLimit(MAX_LIMIT, "second"), Quota(MAX_LIMIT, "total"), None)
    assert limits == Limits(MAX_LIMIT, "second", MAX_LIMIT, MAX_LIMIT, "total")


def test_a_burst_below_the_rate_is_refused_and_defaults_to_the_rate():
    assert _errors(rate=RateLimit(10, "second", 9)) == {"rate_limit.burst": ["burst_below_rate"]}
    assert clean_limits(RateLimit(10, "second"), None, None).burst == 10


def test_unknown_periods_are_refused():
    errors = _errors(rate=RateLimit(1, "hour"), quota=Quota(1, "week"))
    assert errors == {"rate_limit.per": ["invalid_choice"], "quota.period": ["invalid_choice"]}


def test_workspace_ceilings_bound_rate_burst_and_quota(workspace):
    policy = LimitPolicy(workspace=workspace, max_rate_per_minute=600, max_burst=50, max_quota=1000)
    assert clean_limits(RateLimit(10, "second", 50), Quota(1000), policy).rate == 10
    errors = _errors(RateLimit(11, "second", 51), Quota(1001), policy)
    assert errors == {
        "rate_limit.requests": ["above_ceiling"],
        "rate_limit.burst": ["above_ceiling"],
        "quota.uses": ["above_ceiling"],
    }
    # Under a ceiling a token may not go unlimited.
    assert _errors(None, None, policy) == {
        "rate_limit": ["limit_required"],
        "quota": ["limit_required"],
    }


def test_the_database_refuses_what_the_service_would(limited):
    from django.db import IntegrityError, transaction

    token, _ = limited(rate=RateLimit(5))
    for bad in ({"burst": 4}, {"rate": 0, "burst": 0}, {"rate_period": ""}):
        with pytest.raises(IntegrityError), transaction.atomic():
            TokenLimits.objects.filter(token=token).update(**bad)


# The service


def test_setting_limits_is_audited_once_per_change(limited, admin_actor):
    token, _ = limited(rate=RateLimit(5, "second", 10))
    token_limits_set(actor=admin_actor, token=token, rate=RateLimit(5, "second", 10), quota=None)
    events = AuditEvent.objects.filter(action="token.limits_changed")
    assert events.count() == 1
    assert events.get().details["to"] == {
        "rate_limit": {"requests": 5, "per": "second", "burst": 10},
        "quota": None,
    }
    token_limits_set(actor=admin_actor, token=token, rate=None, quota=None)
    assert not TokenLimits.objects.filter(token=token).exists()
    assert events.count() == 2


def test_a_member_may_not_limit_a_workspace_token(limited, member_user, workspace):
    token, _ = limited()
    with pytest.raises(PermissionDenied):
        token_limits_set(
            actor=actor_of(member_user, workspace), token=token, rate=RateLimit(1), quota=None
        )


def test_new_tokens_get_the_workspace_defaults(admin_user, workspace):
    LimitPolicy.objects.create(
        workspace=workspace,
        default_rate=100,
        default_rate_period="minute",
        default_quota=5000,
        default_quota_period="month",
    )
    token, _ = issue(admin_user, workspace, "defaulted")
    assert (token.limits.rate, token.limits.burst, token.limits.quota) == (100, 100, 5000)


def test_a_rotated_token_keeps_its_limits_and_its_quotas_use(
    client, limited, admin_actor, any_cache
):
    token, secret = limited(rate=RateLimit(10, "second", 10), quota=Quota(3, "total"))
    assert client.get(CHECK, headers=nginx(secret)).status_code == 200
    assert client.get(CHECK, headers=nginx(secret)).status_code == 200
    new_token, new_secret = token_rotate(actor=admin_actor, token=token)
    assert (new_token.limits.rate, new_token.limits.quota) == (10, 3)
    statuses = [client.get(CHECK, headers=nginx(new_secret)).status_code for _ in range(2)]
    assert statuses == [200, 429]


# Quota periods


def test_a_monthly_quota_refills_at_the_start_of_next_month_utc():
    december = datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert limit_counts.quota_period("month", december) == "2026-12"
    assert limit_counts.quota_resets_at("month", december) == datetime(2027, 1, 1, tzinfo=UTC)
    january = datetime(2027, 1, 1, tzinfo=UTC)
    assert limit_counts.quota_period("month", january) == "2027-01"
    assert limit_counts.quota_period("total", january) == "total"
    assert limit_counts.quota_resets_at("total", january) is None


def test_counts_of_last_month_do_not_count_this_month(limited):
    token, _ = limited(quota=Quota(1, "month"))
    limits = Limits(quota=1, quota_period="month")
    from django.core.cache import cache

    counter = limit_counts.counter(cache)
    november = datetime(2026, 11, 30, 12, tzinfo=UTC)
    assert counter.count(cache, token.pk, limits, november).refused is None
    assert counter.count(cache, token.pk, limits, november).refused == "quota_exceeded"
    december = datetime(2026, 12, 1, tzinfo=UTC)
    assert counter.count(cache, token.pk, limits, december).refused is None


# Enforcement, in every shared cache


@pytest.fixture(params=["local memory", "database", "redis"])
def any_cache(request, settings):
    """Count in each kind of shared cache Keyward runs with."""
    if request.param == "redis":
        request.getfixturevalue("redis_cache")
    elif request.param == "database":
        from django.core.management import call_command

        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.db.DatabaseCache",
                "LOCATION": "keyward_test_cache",
            }
        }
        call_command("createcachetable", verbosity=0)
    return request.param


def test_the_check_refuses_beyond_rate_and_burst(client, limited, any_cache):
    _, secret = limited(rate=RateLimit(1, "minute", 2))
    first, second, third = (client.get(CHECK, headers=nginx(secret)) for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert first["RateLimit-Policy"] == '"rate";q=1;w=60'
    assert first["RateLimit"].startswith('"rate";r=1;t=')
    assert second["RateLimit"].startswith('"rate";r=0;t=')
    assert 1 <= int(third["Retry-After"]) <= 60
    body = third.json()
    assert body["error"] == "rate_limited"
    assert body["limit"] == {"requests": 1, "per": "minute", "burst": 2}
    assert body["resets_at"].endswith("Z")
    assert "X-Keyward-Token-Id" not in third


def test_the_check_refuses_beyond_the_quota(client, limited, any_cache):
    _, secret = limited(quota=Quota(2, "total"))
    answers = [client.get(CHECK, headers=nginx(secret)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[0]["RateLimit-Policy"] == '"quota";q=2'
    assert [a["RateLimit"] for a in answers] == ['"quota";r=1', '"quota";r=0', '"quota";r=0']
    assert answers[2].json() == {
        "error": "quota_exceeded",
        "message": "This token has used its whole quota.",
        "limit": {"uses": 2, "period": "total"},
        "resets_at": None,
    }
    assert "Retry-After" not in answers[2]  # a total quota never refills


def test_the_api_refuses_beyond_a_monthly_quota(client, limited, any_cache):
    _, secret = limited(quota=Quota(1, "month"))
    allowed = client.get(WHOAMI, headers=bearer(secret))
    refused = client.get(WHOAMI, headers=bearer(secret))
    assert allowed.status_code == 200
    assert allowed["RateLimit-Policy"].startswith('"quota";q=1;w=')
    assert refused.status_code == 429
    body = refused.json()
    assert body["error"] == "quota_exceeded"
    assert body["limit"] == {"uses": 1, "period": "month"}
    resets_at = datetime.fromisoformat(body["resets_at"])
    assert (resets_at.day, resets_at.hour, resets_at.minute) == (1, 0, 0)
    assert int(refused["Retry-After"]) > 0


def test_the_api_refuses_beyond_the_rate_on_every_route(client, limited, workspace):
    _, secret = limited(rate=RateLimit(1, "second", 1))
    assert client.get(WHOAMI, headers=bearer(secret)).status_code == 200
    refused = client.get("/api/v1/tokens", headers=bearer(secret))
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert refused["Retry-After"] == "1"
    assert refused["RateLimit"] == '"rate";r=0;t=1'


def test_a_refused_request_does_not_use_the_quota(client, limited, admin_user, workspace):
    # Only requests the check would let through count: a wrong method is refused for scope.
    _, secret = limited(quota=Quota(1, "total"))
    assert client.get(CHECK, headers=nginx(secret, method="POST")).status_code == 403
    assert client.get(CHECK, headers=nginx(secret)).status_code == 200


def test_tokens_without_limits_get_no_headers_and_no_extra_query(
    client, reader, limited, django_assert_num_queries
):
    _, secret = limited(rate=RateLimit(100, "second"), quota=Quota(100, "total"))
    for token in (reader, secret):
        client.get(CHECK, headers=nginx(token))  # compile the rules once
        with django_assert_num_queries(1):  # the token lookup, which carries the limits
            response = client.get(CHECK, headers=nginx(token))
        assert response.status_code == 200
        assert ("RateLimit" in response) is (token == secret)
        with django_assert_num_queries(1):
            response = client.get(WHOAMI, headers=bearer(token))
        assert ("RateLimit" in response) is (token == secret)


def test_limits_fail_open_while_redis_is_down(client, limited, redis_cache):
    _, secret = limited(quota=Quota(1, "total"))
    redis_cache.stop()
    for _ in range(2):
        response = client.get(CHECK, headers=nginx(secret))
        assert response.status_code == 200
        assert "RateLimit" not in response
    assert client.get(WHOAMI, headers=bearer(secret)).status_code == 200


def test_introspection_does_not_use_the_introspected_tokens_quota(client, limited, workspace):
    _, secret = limited(quota=Quota(1, "total"))
    _, caller = issue_introspector(workspace)
    for _ in range(2):
        answer = client.post(
            "/api/v1/introspect", {"token": secret, "resource": "billing"}, headers=bearer(caller)
        )
        assert answer.json()["decision"]["allowed"] is True
    assert client.get(CHECK, headers=nginx(secret)).status_code == 200


def issue_introspector(workspace):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.get(email="admin@example.com")
    return issue(admin, workspace, "introspector", scopes=["tokens:introspect"])


# Quota notices


def test_thresholds():
    assert [limit_notices.threshold_reached(5, used) for used in range(1, 7)] == [
        None,
        None,
        None,
        80,
        100,
        None,
    ]
    assert limit_notices.threshold_reached(1, 1) == 100


def test_owner_is_emailed_at_80_and_100_percent_once_each(
    client, admin_user, admin_actor, workspace, billing, django_capture_on_commit_callbacks
):
    token, secret = issue(admin_user, workspace, "mine", scopes=["billing:read"], kind="personal")
    token_limits_set(actor=admin_actor, token=token, rate=None, quota=Quota(5, "month"))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [client.get(CHECK, headers=nginx(secret)).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    assert [m.to for m in mail.outbox] == [[admin_user.email]] * 2
    assert "80 %" in mail.outbox[0].subject and "100 %" in mail.outbox[1].subject
    events = AuditEvent.objects.filter(action="token.quota_reached").order_by("pk")
    assert [e.details["percent"] for e in events] == [80, 100]
    assert secret not in mail.outbox[0].body
