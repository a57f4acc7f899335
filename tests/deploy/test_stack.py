"""The production stack, through nginx over HTTPS: what holds across gunicorn's 3 workers.

Runs in the PostgreSQL run of `make test` (tests/deploy/conftest.py starts the stack
once). Requests go on new connections, several at a time, until gunicorn's access
log shows that every worker answered some of them: a rule that lived in one worker's
memory would then let a request through somewhere. The last test reloads gunicorn
(HUP) under a loop of requests: it must stay last, as it replaces the workers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests import servers
from tests.deploy.client import Client, Response
from tests.deploy.conftest import (
    ADMIN,
    API_FAILURES_PER_IP,
    LOGIN_FAILURES_PER_ACCOUNT,
    MEMBER,
    PASSWORD,
    WORKERS,
    WORKSPACE,
    Stack,
)
from tests.tokens.test_scanning import entry
from tokens import secrets as token_secrets
from tokens.models import TokenKind

TOKENS = f"/w/{WORKSPACE}/settings/tokens"
WHOAMI = "/api/v1/whoami"
SCANNING = "/integrations/github/secret-scanning/"
LEAK_SUBJECT = "was found in public and revoked"
AT_ONCE = WORKERS  # requests in flight together: each busy sync worker takes the next elsewhere
MOST_REQUESTS = 600


def on_every_worker(
    stack: Stack, send: Callable[[], Response], path: str, method: str = "GET"
) -> list[Response]:
    """Send requests, `AT_ONCE` at a time, until every gunicorn worker has answered one.

    Only requests with `method` and `path` in gunicorn's access log count.

    Returns every response; fails if MOST_REQUESTS were not enough to reach them all.
    """
    workers = stack.worker_pids()
    assert len(workers) == WORKERS
    mark = stack.access_log_mark()
    responses: list[Response] = []
    with ThreadPoolExecutor(AT_ONCE) as pool:
        while len(responses) < MOST_REQUESTS:
            responses += pool.map(lambda _: send(), range(AT_ONCE))
            served_by = {
                entry["pid"]
                for entry in stack.served_since(mark)
                if (entry["method"], entry["path"]) == (method, path)
            }
            if workers <= served_by:
                return responses
    pytest.fail(f"{MOST_REQUESTS} requests reached only workers {served_by} of {workers}")


def statuses(responses: list[Response]) -> set[int]:
    return {response.status for response in responses}


def create_token(client: Client, name: str) -> tuple[str, str]:
    """Create a workspace token in the console; return its public id and its secret."""
    page = client.post_form(
        f"{TOKENS}/new/",
        {"name": name, "kind": TokenKind.WORKSPACE, "preset": "read", "expiration": "30"},
    )
    assert page.status == 200, page.text[-2000:]
    secret = re.search(r'data-secret="([^"]+)"', page.text).group(1)
    public_id = re.search(r"Token id <code>([^<]+)</code>", page.text).group(1)
    return public_id, secret


@pytest.fixture(scope="module")
def admin(stack: Stack) -> Client:
    """The workspace's Admin, signed in to the console through nginx."""
    client = stack.client("127.0.0.2")
    signed_in = client.sign_in(ADMIN, PASSWORD)
    assert (signed_in.status, signed_in.headers["Location"]) == (302, "/")
    return client


def test_nginx_serves_the_console_and_its_static_files_over_https_and_http2(stack: Stack):
    client = stack.client()
    page = client.get("/accounts/login/")
    stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]+\.css)"', page.text).group(1)
    context = ssl.create_default_context(cafile=str(stack.certificate))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        socket.create_connection(("127.0.0.1", stack.https_port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        protocol = tls.selected_alpn_protocol()

    assert page.status == 200
    assert page.headers["Strict-Transport-Security"].startswith("max-age=")
    assert client.get(stylesheet).status == 200
    assert protocol == "h2"


def test_nginx_refuses_a_body_over_its_limit_before_the_app_reads_it(stack: Stack):
    mark = stack.access_log_mark()

    response = stack.client().request("POST", SCANNING, body=b"[" + b" " * (4 * 1024 * 1024))

    assert response.status == 413
    assert stack.served_since(mark) == []


def test_signing_in_creating_a_token_and_calling_the_api(stack: Stack, admin: Client):
    public_id, secret = create_token(admin, "deploy-first")

    answer = admin.api("GET", WHOAMI, secret)

    assert answer.status == 200, answer.text
    assert answer.json()["id"] == public_id


def test_no_request_after_a_revoke_succeeds_on_any_worker(stack: Stack, admin: Client):
    public_id, secret = create_token(admin, "deploy-revoked")
    calls = stack.client("127.0.0.5")
    served = on_every_worker(stack, lambda: calls.api("GET", WHOAMI, secret), WHOAMI)
    assert statuses(served) == {200}  # every worker knew the token

    revoked = admin.post_form(f"{TOKENS}/{public_id}/revoke/", {})
    assert revoked.status in (200, 302), revoked.text[-2000:]
    refused = on_every_worker(stack, lambda: calls.api("GET", WHOAMI, secret), WHOAMI)

    # 401 invalid_token, and 429 once the address has sent more failing tokens than allowed.
    assert statuses(refused) <= {401, 429}
    assert refused[0].json()["error"] == "invalid_token"


def test_the_api_failure_limit_holds_across_the_workers(stack: Stack, admin: Client):
    _, valid = create_token(admin, "deploy-still-served")
    guesser = stack.client("127.0.0.3")

    def guess() -> Response:
        return guesser.api("GET", WHOAMI, token_secrets.generate("kw", TokenKind.WORKSPACE))

    guesses = on_every_worker(stack, guess, WHOAMI)
    while len(guesses) < WORKERS * API_FAILURES_PER_IP + WORKERS:
        guesses.append(guess())
    valid_calls = on_every_worker(stack, lambda: guesser.api("GET", WHOAMI, valid), WHOAMI)

    refused = [r.status for r in guesses]
    # One worker's own count would let each worker answer the limit's worth of 401s; shared,
    # only the requests in flight when the limit was reached may pass it.
    assert refused.count(401) <= API_FAILURES_PER_IP + AT_ONCE - 1
    assert set(refused) == {401, 429}
    assert statuses(valid_calls) == {200}


def test_the_sign_in_limit_holds_across_the_workers(stack: Stack):
    person = stack.client("127.0.0.4")
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT):
        assert person.sign_in(MEMBER, "wrong password").status == 200

    def right_password() -> Response:
        return stack.client("127.0.0.4").sign_in(MEMBER, PASSWORD)

    attempts = on_every_worker(stack, right_password, "/accounts/login/", method="POST")

    # Refused on every worker: the form again (200), never the redirect of a sign-in.
    assert statuses(attempts) == {200}


def test_a_leak_report_is_answered_and_the_worker_delivers_its_emails(stack: Stack, admin: Client):
    _, secret = create_token(admin, "deploy-leaked")
    body = json.dumps([entry(secret)]).encode()

    answer = stack.client("127.0.0.6").request(
        "POST",
        SCANNING,
        body=body,
        headers={
            "Content-Type": "application/json",
            "Github-Public-Key-Identifier": stack.github_key.identifier,
            "Github-Public-Key-Signature": stack.github_key.sign(body),
        },
    )

    assert answer.status == 200, answer.text
    assert answer.json()[0]["label"] == "true_positive"
    assert admin.api("GET", WHOAMI, secret).status == 401

    def leak_mail() -> list[str]:
        if not stack.mail_dir.exists():
            return []
        messages = (path.read_text(errors="replace") for path in stack.mail_dir.iterdir())
        return [m for m in messages if LEAK_SUBJECT in m.replace("\n ", " ")]

    servers.wait_until(
        leak_mail, what="the leak email", process=stack.worker.process, log=stack.worker.log
    )
    assert f"To: {ADMIN}" in leak_mail()[0]


def test_the_periodic_jobs_run_against_the_stack(stack: Stack):
    ran = subprocess.run(  # noqa: S603 the committed script
        [str(servers.PROJECT / "scripts" / "periodic.sh")],
        env={**os.environ, **stack.env, "PYTHON": sys.executable},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "manage.py send_expiry_reminders" in ran.stdout
    assert "Queued 0 abandoned task(s) again." in ran.stdout


def test_readyz_follows_redis_and_the_console_never_fails_meanwhile(stack: Stack, admin: Client):
    _, valid = create_token(admin, "deploy-redis-down")
    probe = stack.client("127.0.0.7")
    servers.wait_until(lambda: probe.get("/readyz").status == 200, what="/readyz ready")
    pages = []
    log_mark = len(stack.gunicorn.output())

    stack.redis.stop()
    try:
        servers.wait_until(lambda: probe.get("/readyz").status == 503, what="/readyz unready")
        # Every worker sees the outage (and below, its end) for itself.
        unready = on_every_worker(stack, lambda: probe.get("/readyz"), "/readyz")
        pages += [admin.get(f"{TOKENS}/"), probe.get("/accounts/login/")]
        api_while_down = admin.api("GET", WHOAMI, valid)
    finally:
        stack.restart_redis()
    servers.wait_until(lambda: probe.get("/readyz").status == 200, what="/readyz ready again")
    ready = on_every_worker(stack, lambda: probe.get("/readyz"), "/readyz")
    pages += [admin.get(f"{TOKENS}/"), probe.get("/accounts/login/")]
    log = stack.gunicorn.output()[log_mark:]

    assert (statuses(unready), statuses(ready)) == ({503}, {200})
    assert all(page.status < 500 for page in pages), [page.status for page in pages]
    assert api_while_down.status == 200
    # Logged once by the 3 workers together (accounts.shared_cache, ops/outages.py).
    assert log.count("Shared cache unreachable") == 1
    assert log.count("Shared cache reachable again") == 1


class Traffic:
    """Clients that call whoami and a console page in a loop, each from a thread of its own.

    Every answer is kept with the phase the test was in when the request was sent.
    The loop is bounded: it ends when told to, or after MOST_REQUESTS requests.
    """

    def __init__(self, calls: list[tuple[str, Callable[[], Response]]], threads: int) -> None:
        self.calls = calls
        self.phase = "before"
        self.answers: list[tuple[str, str, int | str]] = []  # (phase, path, status or error)
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def _loop(self) -> None:
        while not self._stop.is_set() and len(self.answers) < MOST_REQUESTS * 10:
            for path, send in self.calls:
                phase = self.phase
                try:
                    outcome: int | str = send().status
                except OSError as error:  # refused, reset, timed out: a failed request too
                    outcome = repr(error)
                self.answers.append((phase, path, outcome))

    def in_phase(self, phase: str) -> list[tuple[str, str, int | str]]:
        return [answer for answer in self.answers if answer[0] == phase]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)


def test_a_hup_replaces_every_worker_and_no_request_fails_meanwhile(stack: Stack, admin: Client):
    _, secret = create_token(admin, "deploy-reload")
    caller, reader = stack.client("127.0.0.8"), stack.client("127.0.0.9")
    assert reader.sign_in(ADMIN, PASSWORD).status == 302
    master = stack.gunicorn.process.pid
    old = stack.worker_pids()
    assert len(old) == WORKERS
    calls = [
        (WHOAMI, lambda: caller.api("GET", WHOAMI, secret)),
        (TOKENS, lambda: reader.get(f"{TOKENS}/")),
    ]

    def replaced() -> bool:
        now = stack.worker_pids()
        return len(now) == WORKERS and not now & old

    with Traffic(calls, threads=WORKERS) as traffic:
        servers.wait_until(lambda: len(traffic.answers) >= 2 * WORKERS, what="traffic")
        mark = stack.access_log_mark()
        traffic.phase = "reloading"
        os.kill(master, signal.SIGHUP)  # what `systemctl reload keyward-web` sends
        servers.wait_until(replaced, what="new workers", process=stack.gunicorn.process)
        new = stack.worker_pids()
        traffic.phase = "after"
        servers.wait_until(
            lambda: (
                {e["pid"] for e in stack.served_since(mark)} & new and traffic.in_phase("after")
            ),
            what="a request answered by a new worker",
        )

    failed = [answer for answer in traffic.answers if answer[2] != 200]
    served_by = {entry["pid"] for entry in stack.served_since(mark)}
    assert failed == []
    assert traffic.in_phase("reloading")  # requests were sent while the workers were replaced
    assert {path for _, path, _ in traffic.answers} == {WHOAMI, TOKENS}
    assert stack.gunicorn.process.poll() is None and servers.children(master) == new
    assert served_by <= old | new and served_by & new
