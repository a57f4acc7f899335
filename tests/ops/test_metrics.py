"""/metrics: who may read it, and what it counts (requests, API authentications, tokens, tasks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.tasks import task
from django.test import Client, override_settings
from django_tasks_db.models import DBTaskResult
from prometheus_client.parser import text_string_to_metric_families

from tests.factories import issue
from tokens import secrets
from tokens.actors import Actor
from tokens.services import token_revoke, token_rotate

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = {"REMOTE_ADDR": "203.0.113.9"}


def scrape(**headers) -> dict[tuple[str, tuple], float]:
    """Return every sample of /metrics read from loopback, by name and sorted labels."""
    response = Client().get("/metrics", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@task()
def nothing() -> None:
    """Do nothing (a task for the queue gauges)."""


# Access ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_loopback_reads_the_metrics_without_a_token():
    assert Client().get("/metrics").status_code == 200


@pytest.mark.django_db
def test_others_need_a_token_with_the_metrics_scope(workspace, admin_user):
    client = Client()
    missing = client.get("/metrics", **OUTSIDE)
    assert missing.status_code == 401
    assert missing.json()["error"] == "missing_token"
    assert missing["WWW-Authenticate"] == 'Bearer realm="keyward"'

    garbage = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope", **OUTSIDE)
    assert (garbage.status_code, garbage.json()["error"]) == (401, "invalid_token")

    _, reader = issue(admin_user, workspace, "tokens", scopes=["tokens:read"])
    narrow = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {reader}", **OUTSIDE)
    assert (narrow.status_code, narrow.json()["error"]) == (403, "insufficient_scope")
    assert 'scope="metrics:read"' in narrow["WWW-Authenticate"]

    _, scraper = issue(admin_user, workspace, "prometheus", scopes=["metrics:read"])
    allowed = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {scraper}", **OUTSIDE)
    assert allowed.status_code == 200
    assert b"keyward_http_requests_total" in allowed.content


@pytest.mark.django_db
def test_a_request_through_an_unread_proxy_is_not_from_loopback():
    """nginx on the same machine connects from 127.0.0.1: its X-Forwarded-For says who asked."""
    proxied = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert Client().get("/metrics", **proxied).status_code == 401
    with override_settings(KEYWARD_TRUST_X_FORWARDED_FOR=True):
        assert Client().get("/metrics", **proxied).status_code == 401
        from_loopback = {"HTTP_X_FORWARDED_FOR": "127.0.0.1"}
        assert Client().get("/metrics", **from_loopback).status_code == 200


@pytest.mark.django_db
@override_settings(KEYWARD_METRICS_ALLOWED_IPS=["203.0.113.0/24"])
def test_allowed_networks_come_from_the_setting():
    assert Client().get("/metrics", **OUTSIDE).status_code == 200
    assert Client().get("/metrics").status_code == 401  # loopback is no longer listed


def test_only_admins_may_grant_the_metrics_scope_and_no_preset_does():
    from django.conf import settings

    assert settings.KEYWARD_SCOPES["metrics:read"]["role"] == "admin"
    presets = settings.KEYWARD_SCOPE_PRESETS.values()
    assert all("metrics:read" not in preset["scopes"] for preset in presets)


# Content ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_requests_are_counted_by_route_name_method_and_status(workspace, admin_user):
    _, secret = issue(admin_user, workspace, scopes=["tokens:read"])
    before = scrape()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    client.get("/api/v1/whoami")
    client.get("/api/v1/tokens/tok_doesnotexist")
    Client().get("/invitations/a-secret-looking-link/")
    after = scrape()
    ok = {"route": "api:whoami", "method": "GET", "status": "200"}
    assert value(after, "keyward_http_requests_total", **ok) == (
        value(before, "keyward_http_requests_total", **ok) + 1
    )
    assert value(after, "keyward_http_request_duration_seconds_count", **ok) == (
        value(before, "keyward_http_request_duration_seconds_count", **ok) + 1
    )
    missing = {"route": "api:token_detail", "method": "GET", "status": "404"}
    assert value(after, "keyward_http_requests_total", **missing) >= 1
    # Labels hold route names, never paths: a path may carry a secret.
    assert not any("a-secret-looking-link" in str(key) for key in after)
    assert not any("tok_doesnotexist" in str(key) for key in after)


@pytest.mark.django_db
def test_api_authentication_outcomes_are_counted_by_reason(workspace, admin_user):
    _, secret = issue(admin_user, workspace, scopes=["tokens:read"])
    revoked, revoked_secret = issue(admin_user, workspace, "old", scopes=["tokens:read"])
    token_revoke(actor=Actor.system(), token=revoked)
    calls = {
        "ok": f"Bearer {secret}",
        "malformed": "Bearer kww_garbage",
        "unknown": f"Bearer {secrets.generate('kw', 'workspace')}",
        "revoked": f"Bearer {revoked_secret}",
        "invalid_request": f"Basic {secret}",
        "missing_token": None,
    }
    before = scrape()
    for credential in calls.values():
        headers = {"HTTP_AUTHORIZATION": credential} if credential else {}
        Client().get("/api/v1/whoami", **headers)
    after = scrape()
    for reason in calls:
        moved = value(after, "keyward_api_authentications_total", reason=reason) - value(
            before, "keyward_api_authentications_total", reason=reason
        )
        assert moved == 1, reason


@pytest.mark.django_db
def test_tokens_issued_and_revoked_are_counted_once_committed(
    workspace, admin_user, django_capture_on_commit_callbacks
):
    before = scrape()
    with django_capture_on_commit_callbacks(execute=True):
        token, _ = issue(admin_user, workspace, scopes=["tokens:read"])
        new_token, _ = token_rotate(actor=Actor.system(), token=token)
        token_revoke(actor=Actor.system(), token=new_token)
    after = scrape()

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("keyward_tokens_issued_total", kind="workspace", via="create") == 1
    assert moved("keyward_tokens_issued_total", kind="workspace", via="rotation") == 1
    assert moved("keyward_tokens_revoked_total", reason="rotation") == 1
    assert moved("keyward_tokens_revoked_total", reason="user") == 1


@pytest.mark.django_db
def test_nothing_is_counted_for_an_action_that_was_undone(workspace, admin_user):
    before = scrape()
    issue(admin_user, workspace, scopes=["tokens:read"])  # the test's transaction never commits
    after = scrape()
    name = "keyward_tokens_issued_total"
    assert value(after, name, kind="workspace", via="create") == value(
        before, name, kind="workspace", via="create"
    )


@pytest.mark.django_db
@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
def test_the_task_queue_is_read_at_scrape_time():
    nothing.enqueue()
    nothing.enqueue()
    failed = nothing.enqueue()
    DBTaskResult.objects.filter(pk=failed.id).update(status="FAILED")
    samples = scrape()
    assert value(samples, "keyward_tasks", status="ready") == 2
    assert value(samples, "keyward_tasks", status="failed") == 1
    assert value(samples, "keyward_tasks", status="running") == 0


# Several processes -----------------------------------------------------------------

# What the request middleware does for one answered request, in a process of its own.
COUNT_IN_A_PROCESS = """
import django
django.setup()
from ops import metrics
metrics.observe_request("api:whoami", "GET", 200, 0.004)
"""


@pytest.mark.django_db
def test_one_scrape_adds_up_every_process(tmp_path, monkeypatch):
    """Two processes (gunicorn workers) count into PROMETHEUS_MULTIPROC_DIR; a scrape sees both."""
    environ = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
    }
    for _ in range(2):
        command = [sys.executable, "-c", COUNT_IN_A_PROCESS]
        subprocess.run(command, env=environ, cwd=ROOT, check=True)  # noqa: S603
    assert len(list(tmp_path.glob("*.db"))) >= 2  # one file per process and metric type
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    samples = scrape()
    labels = {"route": "api:whoami", "method": "GET", "status": "200"}
    assert value(samples, "keyward_http_requests_total", **labels) == 2
    assert value(samples, "keyward_http_request_duration_seconds_count", **labels) == 2
    assert value(samples, "keyward_http_request_duration_seconds_bucket", le="0.005", **labels) == 2
    # This process's own counts are not in the folder: the scrape shows the workers' only.
    scrapes = {"route": "ops:metrics", "method": "GET", "status": "200"}
    assert value(samples, "keyward_http_requests_total", **scrapes) == 0


def test_gunicorn_hooks_empty_the_folder_and_drop_dead_workers(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from ops.metrics import gunicorn_child_exit, gunicorn_on_starting

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    gunicorn_on_starting(server=None)  # creates the folder
    earlier_run = tmp_path / "metrics" / "counter_4242.db"
    earlier_run.write_bytes(b"")
    live = tmp_path / "metrics" / "gauge_livesum_4243.db"
    gunicorn_on_starting(server=None)
    assert not earlier_run.exists()
    live.write_bytes(b"")
    gunicorn_child_exit(server=None, worker=SimpleNamespace(pid=4243))
    assert not live.exists()
