"""Counting uses of tokens (gateway.usage) and moving them to the tables (gateway.rollups)."""

from __future__ import annotations

import io
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from redis import exceptions as redis_exceptions

from accounts.models import AuditEvent
from gateway import rollups, usage
from gateway.limit_models import TokenLimits
from gateway.usage_models import Granularity, UsageClient, UsageCount, UsageSettings
from tests.factories import actor_of, issue
from tests.forked import run_workers
from tests.gateway.test_views import CHECK, nginx
from tokens.services import token_revoke

AGENT = "curl/8.5"


@pytest.fixture(autouse=True)
def fresh_buffer(monkeypatch):
    """Give each test an empty in-memory buffer that was just flushed."""
    monkeypatch.setattr(usage, "buffer", usage.MemoryBuffer())
    return usage.buffer


def counts(token, granularity=Granularity.MINUTE) -> dict[tuple[str, str], int]:
    return {
        (row.outcome, row.resource): row.count
        for row in UsageCount.objects.filter(token=token, granularity=granularity)
    }


def token_of(user, workspace, name, scopes):
    return issue(user, workspace, name, scopes=scopes)


def test_gateway_checks_are_counted_by_outcome_resource_ip_and_agent(
    client, admin_user, workspace, billing
):
    token, secret = token_of(admin_user, workspace, "reader", ["billing:read"])
    client.get(CHECK, headers=nginx(secret, **{"User-Agent": AGENT}))
    client.get(CHECK, headers=nginx(secret, **{"User-Agent": AGENT}))
    client.get(CHECK, headers=nginx(secret, method="POST", **{"User-Agent": AGENT}))
    client.get(CHECK, headers=nginx(secret, host="elsewhere.example.com"))
    client.get(CHECK, headers=nginx(None))  # no token: nobody to count for

    rollups.flush()

    assert counts(token) == {
        ("allowed", "Billing"): 2,
        ("scope", "Billing"): 1,
        ("resource", ""): 1,
    }
    assert counts(token, Granularity.HOUR) == counts(token)
    assert counts(token, Granularity.DAY) == counts(token)
    ip = UsageClient.objects.get(token=token, kind="ip")
    assert (ip.value, ip.count) == ("127.0.0.1", 4)
    agent = UsageClient.objects.get(token=token, kind="ua")
    assert (agent.value, agent.count) == (AGENT, 3)


def test_a_revoked_token_is_counted_as_invalid(client, admin_user, workspace, billing):
    token, secret = token_of(admin_user, workspace, "old", ["billing:read"])
    token_revoke(actor=actor_of(admin_user, workspace), token=token)
    client.get(CHECK, headers=nginx(secret))
    rollups.flush()
    assert counts(token) == {("invalid", ""): 1}


def test_a_token_used_from_a_refused_address_is_counted_as_ip(
    client, admin_user, workspace, billing
):
    token, secret = issue(
        admin_user, workspace, "ranged", scopes=["billing:read"], allowed_ips=["10.0.0.0/8"]
    )
    client.get(CHECK, headers=nginx(secret))
    rollups.flush()
    assert counts(token) == {("ip", ""): 1}


def test_api_requests_are_counted_allowed_or_refused_for_scope(client, admin_user, workspace):
    token, secret = issue(admin_user, workspace, "api", scopes=["tokens:read"])
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/tokens", headers=bearer).status_code == 200
    assert client.post("/api/v1/introspect", {"token": "x"}, headers=bearer).status_code == 403
    rollups.flush()
    assert counts(token) == {("allowed", ""): 1, ("scope", ""): 1}


def test_an_api_request_refused_by_the_tokens_quota_is_counted_as_limit(
    client, admin_user, workspace
):
    token, secret = issue(admin_user, workspace, "capped", scopes=["tokens:read"])
    TokenLimits.objects.create(token=token, quota=1, quota_period="total")
    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/tokens", headers=bearer).status_code == 200
    assert client.get("/api/v1/tokens", headers=bearer).status_code == 429
    rollups.flush()
    assert counts(token) == {("allowed", ""): 1, ("limit", ""): 1}


def test_counting_adds_no_query_to_the_check(
    client, reader, django_assert_num_queries, fresh_buffer
):
    client.get(CHECK, headers=nginx(reader))  # compiles the rules
    with django_assert_num_queries(1):  # the token's lookup only
        client.get(CHECK, headers=nginx(reader))
    assert sum(sum(tally.values()) for tally in fresh_buffer._tallies.values()) >= 2


def test_the_process_flushes_its_memory_itself_once_a_minute(
    client, reader, monkeypatch, admin_user, workspace, django_capture_on_commit_callbacks
):
    now = [1_800_000_000.0]
    monkeypatch.setattr(usage, "_clock", lambda: now[0])
    monkeypatch.setattr(usage, "buffer", usage.MemoryBuffer())
    client.get(CHECK, headers=nginx(reader))
    assert not UsageCount.objects.exists()
    now[0] += 59
    client.get(CHECK, headers=nginx(reader))
    assert not UsageCount.objects.exists()
    now[0] += 1
    with django_capture_on_commit_callbacks(execute=True):  # once its transaction commits
        client.get(CHECK, headers=nginx(reader))  # a minute since the last flush: this one writes
    token = UsageCount.objects.get(granularity=Granularity.HOUR).token
    assert counts(token, Granularity.HOUR) == {("allowed", "Billing"): 3}
    assert usage.buffer._tallies == {}


def test_a_flush_due_in_a_transaction_that_rolls_back_keeps_the_counts(client, reader, monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(usage, "_clock", lambda: now[0])
    monkeypatch.setattr(usage, "buffer", usage.MemoryBuffer())
    client.get(CHECK, headers=nginx(reader))
    now[0] += 60
    with transaction.atomic():
        client.get(CHECK, headers=nginx(reader))  # due, but its flush waits for the commit
        transaction.set_rollback(True)
    assert sum(usage.buffer._tallies[usage.minute_of(now[0] - 60)].values()) > 0
    assert sum(usage.buffer._tallies[usage.minute_of(now[0])].values()) > 0


def test_flushing_again_moves_nothing_twice(client, reader):
    client.get(CHECK, headers=nginx(reader))
    out = io.StringIO()
    call_command("flush_usage", stdout=out)
    call_command("flush_usage", stdout=out)
    assert "Flushed 1 minute(s) into 4 row(s); 1 new client IP(s)" in out.getvalue()
    assert UsageCount.objects.get(granularity=Granularity.DAY).count == 1


def test_the_first_use_from_a_new_ip_is_audited_once(client, reader):
    client.get(CHECK, headers=nginx(reader))
    rollups.flush()
    client.get(CHECK, headers=nginx(reader))
    rollups.flush()
    client.get(CHECK, headers=nginx(reader), REMOTE_ADDR="192.0.2.7")
    rollups.flush()
    events = AuditEvent.objects.filter(action="token.new_ip").order_by("id")
    assert [event.details["ip"] for event in events] == ["127.0.0.1", "192.0.2.7"]
    assert all(event.target_type == "token" for event in events)


def test_minutes_in_one_hour_add_up_in_the_hour_and_the_day(admin_user, workspace):
    token, _ = issue(admin_user, workspace, "t")
    start = int(datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp() // 60)
    key = usage.field(token.public_id, "o", "allowed", "")
    rollups.write({start: Counter({key: 2}), start + 59: Counter({key: 3})})
    rollups.write({start + 60: Counter({key: 5})})
    assert sorted(
        UsageCount.objects.filter(token=token, granularity=Granularity.HOUR).values_list(
            "start__hour", "count"
        )
    ) == [(10, 5), (11, 5)]
    assert UsageCount.objects.get(token=token, granularity=Granularity.DAY).count == 10


def test_rows_older_than_their_retention_are_pruned(admin_user, workspace, settings):
    token, _ = issue(admin_user, workspace, "t")
    settings.KEYWARD_USAGE_MINUTE_RETENTION_HOURS = 48
    settings.KEYWARD_USAGE_HOUR_RETENTION_DAYS = 90
    now = timezone.now()
    for granularity, age in [
        ("minute", timedelta(hours=47)),
        ("minute", timedelta(hours=49)),
        ("hour", timedelta(days=89)),
        ("hour", timedelta(days=91)),
        ("day", timedelta(days=900)),
    ]:
        UsageCount.objects.create(
            token=token, granularity=granularity, start=now - age, outcome="allowed", count=1
        )
    assert rollups.prune(now) == 2
    assert sorted(UsageCount.objects.values_list("granularity", flat=True)) == [
        "day",
        "hour",
        "minute",
    ]


def test_malformed_fields_and_deleted_tokens_are_skipped(admin_user, workspace):
    token, _ = issue(admin_user, workspace, "t")
    result = rollups.write(
        {
            1: Counter(
                {
                    "garbage": 4,
                    usage.field("kw_gone", "o", "allowed", ""): 1,
                    usage.field(token.public_id, "o", "allowed", ""): 1,
                }
            )
        }
    )
    assert result.rows == 3  # the token's minute, hour and day
    assert UsageCount.objects.filter(token=token).count() == 3


# Redis -------------------------------------------------------------------------------------

COUNT_USES = """
from gateway import usage

def work(arg):
    token_id, uses = arg
    for number in range(uses):
        usage.record(token_id, "allowed", "Billing", f"192.0.2.{number % 3}", "worker")
    usage.flush_at_exit()  # what atexit does in a gunicorn worker; forked test workers _exit
    return uses
"""


def test_uses_counted_in_redis_by_several_processes_add_up(redis_cache, admin_user, workspace):
    token, _ = issue(admin_user, workspace, "shared")
    plan = [[[token.public_id, 40], [token.public_id, 60], [token.public_id, 25]]]
    run_workers(COUNT_USES, plan, {"REDIS_URL": redis_cache.url})

    result = rollups.flush()

    assert result.minutes >= 1
    assert counts(token, Granularity.DAY) == {("allowed", "Billing"): 125}
    assert UsageClient.objects.filter(token=token, kind="ip").count() == 3
    assert UsageClient.objects.get(token=token, kind="ua").count == 125
    assert list(usage.redis_client().scan_iter(match=f"{usage.KEY_PREFIX}*")) == []


def test_a_redis_check_counts_in_memory_and_pushes_in_one_round_trip_that_expires(
    redis_cache, client, reader, monkeypatch
):
    redis = usage.redis_client()
    client.get(CHECK, headers=nginx(reader, **{"User-Agent": AGENT}))
    client.get(CHECK, headers=nginx(reader, **{"User-Agent": AGENT}))
    assert list(redis.scan_iter(match=f"{usage.KEY_PREFIX}*")) == []  # no I/O per request

    pipelines = []
    original = type(redis).pipeline

    def recorded_pipeline(self, *args, **kwargs):
        pipelines.append(original(self, *args, **kwargs))
        return pipelines[-1]

    with monkeypatch.context() as patched:
        patched.setattr(type(redis), "pipeline", recorded_pipeline)
        assert usage.push(redis) == 3

    assert len(pipelines) == 1  # one round trip for every field of every minute
    (key,) = list(redis.scan_iter(match=f"{usage.KEY_PREFIX}*"))
    assert 0 < redis.ttl(key) <= 2 * 24 * 3600
    assert sorted(int(value) for value in redis.hgetall(key).values()) == [2, 2, 2]
    assert not usage.buffer


def test_a_push_that_fails_keeps_the_counts_for_the_next_one(redis_cache, client, reader):
    client.get(CHECK, headers=nginx(reader, **{"User-Agent": AGENT}))
    broken = usage.redis_client().__class__.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(redis_exceptions.ConnectionError):
        usage.push(broken)
    assert usage.buffer

    assert usage.push() == 3
    redis = usage.redis_client()
    (key,) = list(redis.scan_iter(match=f"{usage.KEY_PREFIX}*"))
    assert sorted(int(value) for value in redis.hgetall(key).values()) == [1, 1, 1]


def test_the_push_thread_keeps_running_and_logs_once_while_redis_fails(
    redis_cache, client, reader, monkeypatch, caplog
):
    client.get(CHECK, headers=nginx(reader))

    def failing(client=None):
        raise ConnectionError("down")

    pusher = usage.Pusher()
    with monkeypatch.context() as patched:
        patched.setattr(usage, "push", failing)
        pusher.push_now()
        pusher.push_now()
    pusher.push_now()

    messages = [record.getMessage() for record in caplog.records]
    assert messages.count("Usage not pushed to Redis, kept in memory: ConnectionError") == 1
    assert "Usage pushed to Redis again" in messages
    assert not usage.buffer


def test_the_push_thread_moves_counts_to_redis_with_no_further_request(
    redis_cache, client, reader, monkeypatch, settings
):
    settings.KEYWARD_USAGE_PUSH_SECONDS = 1
    monkeypatch.setattr(usage, "pusher", usage.Pusher())
    redis = usage.redis_client()
    client.get(CHECK, headers=nginx(reader))
    try:
        found = []
        deadline = time.monotonic() + 30  # a bound for a stuck thread, not a timing assertion
        while not found and time.monotonic() < deadline:
            found = list(redis.scan_iter(match=f"{usage.KEY_PREFIX}*"))
            threading.Event().wait(0.05)
    finally:
        usage.pusher.stop()
    (key,) = found
    assert sorted(int(value) for value in redis.hgetall(key).values()) == [1, 1]


def test_a_forked_child_starts_with_no_tallies_of_its_parent(redis_cache, admin_user, workspace):
    token, _ = issue(admin_user, workspace, "parent")
    usage.record(token.public_id, "allowed", "Billing", "192.0.2.9", "parent")
    plan = [[[token.public_id, 2]]]
    run_workers(COUNT_USES, plan, {"REDIS_URL": redis_cache.url})

    rollups.flush()  # the parent's own count and the child's two

    assert counts(token, Granularity.DAY) == {("allowed", "Billing"): 3}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_flushers_never_count_twice(redis_cache, admin_user, workspace):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent flushers need PostgreSQL (scripts/with-postgres.sh)")
    token, _ = issue(admin_user, workspace, "busy")
    redis = usage.redis_client()
    minute = usage.minute_of(timezone.now().timestamp())
    for offset in range(60):
        for ip in ("192.0.2.1", "192.0.2.2"):
            key = f"{usage.KEY_PREFIX}{minute - offset}"
            redis.hincrby(key, usage.field(token.public_id, "o", "allowed", "Billing"), 2)
            redis.hincrby(key, usage.field(token.public_id, "ip", ip), 1)
    barrier = threading.Barrier(2)
    errors = []

    def flusher():
        try:
            barrier.wait()
            rollups.flush_redis(redis)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=flusher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    total = sum(
        UsageCount.objects.filter(token=token, granularity=Granularity.DAY).values_list(
            "count", flat=True
        )
    )
    assert total == 240
    assert (
        sum(
            UsageCount.objects.filter(token=token, granularity=Granularity.MINUTE).values_list(
                "count", flat=True
            )
        )
        == 240
    )
    assert UsageClient.objects.get(token=token, kind="ip", value="192.0.2.1").count == 60
    assert AuditEvent.objects.filter(action="token.new_ip").count() == 2


# API ---------------------------------------------------------------------------------------


def usage_url(token) -> str:
    return f"/api/v1/tokens/{token.public_id}/usage"


def test_the_usage_api_answers_points_by_outcome(client, admin_user, workspace):
    token, secret = issue(admin_user, workspace, "api", scopes=["tokens:read"])
    start = int(datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp() // 60)
    rollups.write(
        {
            start: Counter(
                {
                    usage.field(token.public_id, "o", "allowed", "Billing"): 4,
                    usage.field(token.public_id, "o", "scope", "Billing"): 1,
                }
            ),
            start + 61: Counter({usage.field(token.public_id, "o", "invalid", ""): 2}),
        }
    )
    response = client.get(
        usage_url(token),
        {"from": "2026-12-01T10:00:00Z", "to": "2026-12-01T13:00:00Z", "granularity": "hour"},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["granularity"] == "hour"
    assert [(p["total"], p["allowed"], p["scope"], p["invalid"]) for p in body["points"]] == [
        (5, 4, 1, 0),
        (2, 0, 0, 2),
        (0, 0, 0, 0),
    ]


@pytest.mark.parametrize(
    ("params", "field_name", "error"),
    [
        # What the schema states (a date-time, a choice): the schema's invalid_request.
        ({"granularity": "week"}, "granularity", "invalid_request"),
        ({"from": "yesterday"}, "from", "invalid_request"),
        ({"to": "2026-13-01T00:00:00Z"}, "to", "invalid_request"),
        # What no schema states (order, length): validation_error.
        (
            {"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
            "from",
            "validation_error",
        ),
        (
            {"granularity": "minute", "from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
            "from",
            "validation_error",
        ),
    ],
)
def test_the_usage_api_refuses_bad_periods_with_field_errors(
    client, admin_user, workspace, params, field_name, error
):
    token, secret = issue(admin_user, workspace, "api", scopes=["tokens:read"])
    response = client.get(usage_url(token), params, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 400
    assert response.json()["error"] == error, response.json()
    assert list(response.json()["fields"]) == [field_name], response.json()


def test_the_usage_api_needs_tokens_read(client, admin_user, workspace):
    token, secret = issue(admin_user, workspace, "api", scopes=["tokens:write"])
    response = client.get(usage_url(token), headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


def test_the_usage_api_does_not_show_another_workspaces_token(
    client, admin_user, workspace, outsider, other_workspace
):
    theirs, _ = issue(outsider, other_workspace, "theirs")
    _, secret = issue(admin_user, workspace, "api", scopes=["tokens:read"])
    response = client.get(usage_url(theirs), headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 404


def test_a_new_ip_is_emailed_to_the_creator_only_where_the_workspace_opts_in(
    client, reader, workspace, admin_user, mailoutbox, django_capture_on_commit_callbacks
):
    client.get(CHECK, headers=nginx(reader))
    with django_capture_on_commit_callbacks(execute=True):
        rollups.flush()
    assert [m.subject for m in mailoutbox if "new address" in m.subject] == []

    UsageSettings.objects.create(workspace=workspace, email_on_new_ip=True)
    client.get(CHECK, headers=nginx(reader), REMOTE_ADDR="198.51.100.4")
    client.get(CHECK, headers=nginx(reader))  # an address it already knows
    with django_capture_on_commit_callbacks(execute=True):
        rollups.flush()

    (email,) = [m for m in mailoutbox if "new address" in m.subject]
    assert email.to == [admin_user.email]
    assert "198.51.100.4" in email.body
    assert reader not in email.body


FORK_WITH_THE_START_LOCK_HELD = """
from gateway import usage

import os

usage._start_lock.acquire()  # as when another thread starts the push thread at the fork
held = [usage._start_lock]
os.register_at_fork(after_in_parent=lambda: held and held.pop().release())

def work(arg):
    return [usage._start_lock.locked(), usage.pusher._pid]
"""


def test_a_forked_child_gets_its_own_push_thread_lock(redis_cache):
    (answer,) = run_workers(FORK_WITH_THE_START_LOCK_HELD, [[0]], {"REDIS_URL": redis_cache.url})
    assert answer == [False, None]


def test_an_exiting_process_waits_for_its_push_thread(
    redis_cache, client, reader, monkeypatch, settings
):
    settings.KEYWARD_USAGE_PUSH_SECONDS = 1
    monkeypatch.setattr(usage, "pusher", usage.Pusher())
    client.get(CHECK, headers=nginx(reader))
    thread = usage.pusher._thread

    usage.flush_at_exit()

    assert not thread.is_alive()
    assert not usage.buffer
    (key,) = list(usage.redis_client().scan_iter(match=f"{usage.KEY_PREFIX}*"))
    assert sorted(int(value) for value in usage.redis_client().hgetall(key).values()) == [1, 1]


def test_with_redis_and_no_push_thread_requests_never_write_the_counts(
    redis_cache, client, reader, monkeypatch, django_capture_on_commit_callbacks
):
    now = [1_800_000_000.0]
    monkeypatch.setattr(usage, "_clock", lambda: now[0])
    monkeypatch.setattr(usage, "buffer", usage.MemoryBuffer())
    client.get(CHECK, headers=nginx(reader))
    now[0] += 120
    with django_capture_on_commit_callbacks(execute=True):
        client.get(CHECK, headers=nginx(reader))
    assert not UsageCount.objects.exists()  # they wait for the exit's push, not the database
    assert usage.buffer


def test_counts_a_failed_write_took_are_kept_for_the_next(client, reader, monkeypatch):
    client.get(CHECK, headers=nginx(reader))

    def database_down(tallies):
        raise DatabaseError("the database is down")

    with monkeypatch.context() as patched:
        patched.setattr(rollups, "write", database_down)
        usage._flush_memory()
    assert usage.buffer

    rollups.flush()
    token = UsageCount.objects.get(granularity=Granularity.DAY).token
    assert counts(token, Granularity.DAY) == {("allowed", "Billing"): 1}
