"""/healthz and /readyz: what each check answers, and that probes pass any Host, over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client, override_settings
from django.utils import timezone

from ops.models import WorkerHeartbeat
from tests.servers import free_port, running, start_redis

# What an orchestrator's probe looks like: the pod's address as Host, plain HTTP.
PROBE = {"HTTP_HOST": "10.1.2.3:8000"}
STRICT = {"ALLOWED_HOSTS": ["keyward.example.com"], "SECURE_SSL_REDIRECT": True}
DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def _redis_cache(port: int) -> dict:
    location = f"redis://127.0.0.1:{port}/0"
    backend = "django.core.cache.backends.redis.RedisCache"
    return {"default": {"BACKEND": backend, "LOCATION": location, "OPTIONS": {"socket_timeout": 1}}}


def test_healthz_answers_without_the_database(client):
    response = client.get("/healthz")  # no django_db mark: a query would raise
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.django_db
@override_settings(**STRICT)
@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_pass_a_host_and_a_scheme_the_console_refuses(path):
    """Probes reach a pod at its IP over HTTP; the console itself still refuses both."""
    client = Client()
    assert client.get("/login/", **PROBE).status_code == 400  # DisallowedHost
    assert client.get("/login/", HTTP_HOST="keyward.example.com").status_code == 301  # to HTTPS
    assert client.get(path, **PROBE).status_code == 200


@pytest.mark.django_db
def test_probes_need_no_session_nor_csrf_and_accept_only_reads():
    client = Client(enforce_csrf_checks=True)
    for path in ("/healthz", "/readyz"):
        response = client.post(path)
        assert response.status_code == 405
        assert response.json()["error"] == "method_not_allowed"
        assert response["Allow"] == "GET, HEAD"
        assert client.head(path).status_code == 200
    assert "sessionid" not in client.cookies


@pytest.mark.django_db
def test_readyz_names_the_checks_that_apply(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    # No Redis cache and tasks inline (the test settings): neither is checked.
    assert response.json() == {
        "status": "ready",
        "checks": {"database": {"ok": True}, "migrations": {"ok": True}},
    }


@pytest.mark.django_db
def test_readyz_fails_while_a_migration_is_not_applied(client):
    # As after an upgrade's code is in place and before its `migrate`.
    MigrationRecorder.Migration.objects.filter(app="ops").latest("id").delete()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["checks"]["migrations"] == {
        "ok": False,
        "reason": "1 migration(s) not applied: run manage.py migrate",
    }


@pytest.mark.django_db
def test_readyz_reads_the_migrations_once_they_are_all_applied(client, django_assert_num_queries):
    assert client.get("/readyz").status_code == 200
    with django_assert_num_queries(1):  # SELECT 1; the migrations are known to be applied
        assert client.get("/readyz").status_code == 200


def test_readyz_says_the_database_is_down(database_down):
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": {"ok": False, "reason": "the database is unreachable"},
        "migrations": {"ok": False, "reason": "not checked: the database is unreachable"},
    }
    assert "Traceback" not in response.content.decode()


@pytest.mark.django_db
def test_readyz_checks_redis_when_a_cache_uses_it(client, tmp_path):
    closed = free_port()
    with override_settings(CACHES=_redis_cache(closed)):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == {
        "ok": False,
        "reason": "Redis (the shared cache) is unreachable",
    }
    with running(start_redis(tmp_path)) as server:
        caches = _redis_cache(server.port)
        with override_settings(CACHES=caches):
            response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == {"ok": True}


@pytest.mark.django_db
@override_settings(TASKS=DATABASE_TASKS, KEYWARD_WORKER_HEARTBEAT_MAX_AGE=60)
def test_readyz_wants_a_recent_worker_heartbeat_when_tasks_run_in_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == {
        "ok": False,
        "reason": "no task worker has started (manage.py run_worker)",
    }
    beat = WorkerHeartbeat.objects.create(worker="w1", seen_at=timezone.now())
    assert client.get("/readyz").status_code == 200
    beat.seen_at = timezone.now() - timedelta(seconds=90)
    beat.save()
    response = client.get("/readyz")
    assert response.status_code == 503
    reason = response.json()["checks"]["worker"]["reason"]
    assert reason.startswith("no task worker seen for 9") and reason.endswith("(limit 60 s)")


@pytest.mark.django_db
@override_settings(TASKS=DATABASE_TASKS)
def test_readyz_can_leave_checks_out(client):
    response = client.get("/readyz?skip=worker")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "migrations"}
    response = client.get("/readyz?skip=worker,sandwich")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "message": "Unknown check sandwich; the checks are database, migrations, redis, worker.",
    }
