"""The cache the workers share, with a real redis-server: atomic counts, limits across
processes, and what happens while Redis is down and once it is back."""

from __future__ import annotations

import logging
import signal
import socket
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import shared_cache
from accounts.models import User
from accounts.ratelimit import FailureLimiter
from accounts.signin_limit import UNAVAILABLE_MESSAGE, login_limiters
from ops import outages
from ops.models import CacheOutage
from tests.accounts.test_views import _signup_data
from tests.conftest import PASSWORD
from tests.forked import run_workers
from tests.servers import database_for_children, free_port

OUTAGE = "Shared cache unreachable"
BACK = "Shared cache reachable again"


def _login(client: Client, email: str, password: str, url: str = "accounts:login"):
    return client.post(reverse(url), {"username": email, "password": password})


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def _messages(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


def _redis_key(limiter: FailureLimiter, identity: str) -> str:
    return cache.make_and_validate_key(limiter._key(identity))


# Counting in Redis -------------------------------------------------------------------


def test_counts_are_redis_integers_that_expire_with_the_window(redis_cache):
    limiter = FailureLimiter("test", limit=3, window=900)
    client = cache._cache.get_client(write=True)

    assert [limiter.hit("a") for _ in range(4)] == [0, 0, 0, limiter.retry_after("a")]
    key = _redis_key(limiter, "a")
    assert int(client.get(key)) == 4
    assert 0 < client.ttl(key) <= 900
    assert cache.get(limiter._key("a")) == 4  # Django's cache API reads the same counter


def test_later_failures_never_move_the_end_of_the_window(redis_cache):
    limiter = FailureLimiter("test", limit=3, window=900)
    client = cache._cache.get_client(write=True)
    limiter.hit("a")
    client.pexpire(_redis_key(limiter, "a"), 5000)  # as if 895 seconds had passed

    limiter.hit("a")
    limiter.hit("a")

    assert 0 < client.pttl(_redis_key(limiter, "a")) <= 5000
    assert limiter.retry_after("a") == 5


def test_reset_forgets_the_count(redis_cache):
    limiter = FailureLimiter("test", limit=1, window=60)
    limiter.hit("a")
    assert limiter.retry_after("a") == 60

    limiter.reset("a")

    assert limiter.retry_after("a") == 0


COUNT_FAILURES = """
from accounts.signin_limit import login_limiters
from tokens.lookup_limit import TooManyFailures, count_failure

def work(failures):
    api = []
    for _ in range(failures):
        try:
            count_failure("203.0.113.9")
            api.append("counted")
        except TooManyFailures:
            api.append("refused")
    by_account, _ = login_limiters()
    by_account.record_failure("admin@example.com")
    return {"api": api, "sign_in_wait": by_account.retry_after("admin@example.com")}
"""


def test_limits_hold_across_worker_processes(redis_cache):
    env = {
        "REDIS_URL": redis_cache.url,
        "KEYWARD_API_AUTH_FAILURES_PER_IP": "5",
        "KEYWARD_LOGIN_FAILURES_PER_ACCOUNT": "2",
    }

    first, second = run_workers(COUNT_FAILURES, [[3], [3]], env)

    # Each process alone stays under both limits; together they are over.
    assert first == {"api": ["counted"] * 3, "sign_in_wait": 0}
    assert second["api"] == ["counted", "counted", "refused"]
    assert second["sign_in_wait"] > 0


# Redis down ---------------------------------------------------------------------------


def test_status_says_whether_the_cache_answers_and_why_not(redis_cache, db):
    assert shared_cache.status() == shared_cache.CacheStatus(True, "redis")

    redis_cache.stop()
    down = shared_cache.status()

    assert not down.reachable
    assert down.backend == "redis"
    assert "Connection" in down.reason and str(redis_cache.port) in down.reason

    redis_cache.start()
    assert shared_cache.status().reachable


@pytest.mark.django_db
def test_status_of_a_database_cache_without_its_table(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "no_such_table",
        }
    }

    status = shared_cache.status()

    assert not status.reachable
    assert status.backend == "database"
    assert "has migrate run?" in status.reason


def test_sign_in_asks_to_try_again_while_redis_is_down(redis_cache, admin_user, operator):
    redis_cache.stop()

    console = _login(Client(), "admin@example.com", PASSWORD)
    admin = _login(Client(), "operator@example.com", PASSWORD, url="admin:login")

    for response in (console, admin):
        assert response.status_code == 200
        assert UNAVAILABLE_MESSAGE in response.content.decode()


def test_sign_in_works_again_once_redis_is_back(redis_cache, admin_user, caplog):
    client = Client()
    redis_cache.stop()
    assert UNAVAILABLE_MESSAGE in _login(client, "admin@example.com", PASSWORD).content.decode()
    assert not _signed_in(client)

    redis_cache.start()
    with caplog.at_level(logging.WARNING, logger="accounts.shared_cache"):
        wrong = _login(client, "admin@example.com", "wrong")
        right = _login(client, "admin@example.com", PASSWORD)

    assert "do not match" in wrong.content.decode()
    assert right.status_code == 302
    assert _signed_in(client)
    assert len(_messages(caplog, BACK)) == 1


def test_the_limit_counts_again_once_redis_is_back(redis_cache, admin_user, settings):
    settings.KEYWARD_LOGIN_FAILURES_PER_ACCOUNT = 2
    redis_cache.stop()
    for _ in range(3):  # refused: not counted, and no password was checked
        _login(Client(), "admin@example.com", "wrong")
    redis_cache.start()

    for _ in range(2):
        _login(Client(), "admin@example.com", "wrong")

    over = _login(Client(), "admin@example.com", PASSWORD)
    assert "Too many failed sign-in attempts" in over.content.decode()


def test_the_outage_is_logged_once_not_per_request(redis_cache, admin_user, caplog):
    redis_cache.stop()
    with caplog.at_level(logging.WARNING, logger="accounts.shared_cache"):
        for _ in range(5):
            _login(Client(), "admin@example.com", PASSWORD)
        shared_cache.status()

    logged = _messages(caplog, OUTAGE)
    assert len(logged) == 1
    assert "redis" in logged[0] and str(redis_cache.port) in logged[0]
    assert caplog.records[0].levelname == "ERROR"


def test_password_prompts_ask_to_try_again_while_redis_is_down(redis_cache, admin_user):
    client = Client()
    client.force_login(admin_user)
    redis_cache.stop()

    response = client.post(
        reverse("accounts:password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a-new-pass-phrase",
            "new_password2": "a-new-pass-phrase",
        },
    )

    assert response.status_code == 200
    assert UNAVAILABLE_MESSAGE in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.check_password(PASSWORD)


@pytest.mark.django_db
def test_password_reset_sends_nothing_while_redis_is_down(redis_cache, admin_user, mailoutbox):
    redis_cache.stop()

    response = Client().post(reverse("accounts:password_reset"), {"email": "admin@example.com"})

    assert response.status_code == 200
    assert "Emails cannot be sent for a moment" in response.content.decode()
    assert mailoutbox == []


def test_after_a_failure_the_cache_is_left_alone_for_a_moment(monkeypatch, db):
    now = [100.0]
    monkeypatch.setattr(shared_cache, "_clock", lambda: now[0])
    monkeypatch.setattr(shared_cache, "RETRY_SECONDS", 1.0)
    shared_cache.forget_outage()
    calls = []

    def failing(cache):
        calls.append(1)
        raise ConnectionError("refused")

    for _ in range(3):
        with pytest.raises(shared_cache.SharedCacheUnavailable):
            shared_cache.use(failing)
    now[0] += 1.5
    assert shared_cache.use(lambda cache: "answered") == "answered"

    assert len(calls) == 1
    shared_cache.forget_outage()


def test_login_limiters_raise_while_redis_is_down(redis_cache, db):
    by_account, _ = login_limiters()
    redis_cache.stop()

    with pytest.raises(shared_cache.SharedCacheUnavailable):
        by_account.retry_after("admin@example.com")


def test_sign_up_asks_to_try_again_and_creates_nothing_while_redis_is_down(redis_cache, db):
    redis_cache.stop()
    response = Client().post(reverse("accounts:signup"), _signup_data())

    assert response.status_code == 200
    assert "Sign-ups are unavailable for a moment" in response.content.decode()
    assert not User.objects.exists()


def test_a_hung_redis_is_an_outage_too(redis_cache, admin_user):
    """A Redis that accepts connections but never answers (paused) times out, then recovers."""
    redis_cache.server.process.send_signal(signal.SIGSTOP)
    try:
        hung = shared_cache.status()
        console = _login(Client(), "admin@example.com", PASSWORD)
    finally:
        redis_cache.server.process.send_signal(signal.SIGCONT)

    assert not hung.reachable
    assert "Timeout" in hung.reason
    assert UNAVAILABLE_MESSAGE in console.content.decode()
    assert shared_cache.status().reachable
    assert _login(Client(), "admin@example.com", PASSWORD).status_code == 302


# Logged once per machine, not once per process ---------------------------------------

CATCH_OUTAGE_LOGS = """
import logging
from accounts import shared_cache

logged = []

class Catch(logging.Handler):
    def emit(self, record):
        logged.append(record.getMessage())

logging.getLogger("accounts.shared_cache").addHandler(Catch())

def work(_):
    try:
        shared_cache.use(lambda cache: cache.get("anything"))
    except shared_cache.SharedCacheUnavailable:
        pass
    return logged
"""


@pytest.mark.django_db(transaction=True)
def test_of_several_processes_that_see_redis_down_one_logs_it(tmp_path):
    with database_for_children(tmp_path) as database_url:
        env = {"DATABASE_URL": database_url, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}

        # Three workers at the same time, then a fourth, each in a process of its own.
        logged = run_workers(CATCH_OUTAGE_LOGS, [[1, 2, 3], [4]], env)

        outage = CacheOutage.objects.get()
    lines = [line for lines in logged for line in lines]
    assert len(lines) == 1 and lines[0].startswith(OUTAGE)
    assert "Connection refused" in outage.reason


@pytest.mark.django_db(transaction=True)
def test_the_first_process_to_see_the_outage_logs_it_and_the_first_to_see_its_end(caplog):
    first, second = shared_cache._Outage(), shared_cache._Outage()  # two processes' views

    with caplog.at_level(logging.WARNING, logger="accounts.shared_cache"):
        first.failed("ConnectionError: refused")
        second.failed("ConnectionError: refused")
        assert (len(_messages(caplog, OUTAGE)), CacheOutage.objects.count()) == (1, 1)
        second.answered()
        first.answered()
        assert (len(_messages(caplog, BACK)), CacheOutage.objects.count()) == (1, 0)
        second.failed("TimeoutError: timed out")  # the next outage is logged again

    assert len(_messages(caplog, OUTAGE)) == 2


@pytest.mark.django_db(transaction=True)
def test_an_outage_whose_end_nobody_saw_does_not_silence_the_next(caplog):
    # Every process that had seen it stopped before it ended: its row stayed.
    CacheOutage.objects.create(
        host=socket.gethostname(),
        since=timezone.now() - outages.STALE_AFTER - timedelta(minutes=1),
        reason="old",
    )

    with caplog.at_level(logging.WARNING, logger="accounts.shared_cache"):
        shared_cache._Outage().failed("ConnectionError: refused")

    assert len(_messages(caplog, OUTAGE)) == 1
    assert CacheOutage.objects.get().reason == "ConnectionError: refused"


def test_a_process_logs_the_outage_itself_when_the_database_cannot_decide(caplog, db):
    # Inside a transaction (as this test is), a rollback could undo the row: it logs.
    CacheOutage.objects.create(host=socket.gethostname(), since=timezone.now(), reason="seen")

    with caplog.at_level(logging.WARNING, logger="accounts.shared_cache"):
        shared_cache._Outage().failed("ConnectionError: refused")

    assert len(_messages(caplog, OUTAGE)) == 1
