"""The production stack, started once for tests/deploy/test_stack.py from the committed files.

PostgreSQL (a database of its own in the cluster DATABASE_URL names), Redis,
gunicorn with 3 workers (config/gunicorn.py), the task worker, and nginx with
deploy/nginx/keyward.conf rendered for free loopback ports and a certificate made
here. Everything runs in a temp dir and is stopped at the end, also when a test
or the start-up fails half-way.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import re
import secrets
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests import servers
from tests.deploy.client import Client
from tests.tokens.test_scanning import GitHubKey, key_list

WORKERS = 3
PASSWORD = "deploy-stack-password"
ADMIN = "admin@example.com"
MEMBER = "member@example.com"
WORKSPACE = "acme"
# Low limits, so that the tests reach them with a few requests.
API_FAILURES_PER_IP = 6
LOGIN_FAILURES_PER_ACCOUNT = 3
SITE = servers.PROJECT / "deploy" / "nginx" / "keyward.conf"

PEOPLE = f"""
from accounts.models import Membership, User, Workspace
from accounts.roles import Role
workspace = Workspace.objects.create(name="Acme", slug="{WORKSPACE}")
for email, role in (("{ADMIN}", Role.ADMIN), ("{MEMBER}", Role.MEMBER)):
    user = User.objects.create_user(email, "{PASSWORD}")
    Membership.objects.create(user=user, workspace=workspace, role=role)
"""
CACHE_BACKEND = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"


@dataclass
class Stack:
    """The running stack: where to reach it, and its parts for tests that stop one."""

    workdir: Path
    env: dict[str, str]
    https_port: int
    certificate: Path
    github_key: GitHubKey
    mail_dir: Path
    access_log: Path
    gunicorn: servers.Server
    redis: servers.Server
    worker: servers.Server
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def client(self, source: str = "127.0.0.1") -> Client:
        """Return a client that talks HTTPS to nginx from the loopback address `source`.

        Each address is a client of its own for the per-address limits.
        """
        context = ssl.create_default_context(cafile=str(self.certificate))
        return Client(self.https_port, context, source=source, origin=self.origin)

    def worker_pids(self) -> set[int]:
        """Return the process ids of gunicorn's workers (the master's children) now."""
        return servers.children(self.gunicorn.process.pid)

    def access_log_mark(self) -> int:
        """Return where gunicorn's access log ends now (see served_since)."""
        return self.access_log.stat().st_size if self.access_log.exists() else 0

    def served_since(self, mark: int) -> list[dict]:
        """Return gunicorn's access log entries written after `mark`, with `pid` as a number."""
        with self.access_log.open("rb") as log:
            log.seek(mark)
            lines = log.read().decode().splitlines()
        entries = [json.loads(line) for line in lines if line.startswith("{")]
        for entry in entries:
            entry["pid"] = int(re.sub(r"\D", "", entry["pid"]))
        return entries

    def restart_redis(self) -> None:
        """Start Redis again on the port it had (after a test stopped it)."""
        self.redis = servers.start_redis(self.workdir, port=self.redis.port)


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """Write a certificate for 127.0.0.1 and localhost and its key; return their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "keyward deploy test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "tls.crt", folder / "tls.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextlib.contextmanager
def stack_database(cluster_url: str) -> Iterator[str]:
    """Create a database of the stack's own in the test cluster; drop it at the end."""
    name = f"keyward_stack_{secrets.token_hex(4)}"
    with psycopg.connect(cluster_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield cluster_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(cluster_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def heartbeat(database_url: str) -> bool:
    """Return whether a task worker has written its heartbeat row (ops.WorkerHeartbeat)."""
    with psycopg.connect(database_url) as connection:
        return connection.execute("SELECT count(*) FROM ops_workerheartbeat").fetchone()[0] > 0


@pytest.fixture(scope="module")
def stack(tmp_path_factory, request) -> Iterator[Stack]:
    """Start the whole production stack once for the module; stop all of it at its end.

    Not once per session: the rest of the suite should not share the machine with it.
    """
    cluster = os.environ.get("DATABASE_URL", "")
    if not cluster.startswith(("postgres://", "postgresql://")):
        pytest.skip("the deployment test runs in the PostgreSQL run (scripts/with-postgres.sh)")
    for binary, found in (
        ("redis-server", servers.redis_binary()),
        ("nginx", servers.nginx_binary()),
    ):
        if found is None:
            pytest.fail(f"{binary} is missing: scripts/ensure-services.sh installs it")
    report = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    timings: dict[str, float] = {}

    @contextlib.contextmanager
    def timed(step: str):
        started = time.monotonic()
        yield
        timings[step] = time.monotonic() - started

    workdir = tmp_path_factory.mktemp("stack")
    certificate, certificate_key = self_signed_certificate(workdir)
    github_key = GitHubKey("deploy-test-key")
    keys_file = workdir / "secret_scanning_keys.json"
    keys_file.write_bytes(key_list(github_key))
    mail_dir = workdir / "mail"
    https_port, http_port = servers.free_port(), servers.free_port()
    access_log = workdir / "access.log"
    (workdir / "metrics").mkdir()

    with contextlib.ExitStack() as running:
        database = running.enter_context(stack_database(cluster))
        with timed("redis"):
            redis = servers.start_redis(workdir)
        built: Stack | None = None
        # A test may replace the stack's Redis (restart_redis): stop whichever runs last.
        running.callback(lambda: built.redis.stop() if built else redis.stop())
        env = {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "KEYWARD_HTTPS": "1",  # the test settings turned it off in this process's environment
            "SECRET_KEY": secrets.token_urlsafe(50),
            "DATABASE_URL": database,
            "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
            "KEYWARD_TASKS": "database",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{https_port}",
            "KEYWARD_BASE_URL": f"https://127.0.0.1:{https_port}",
            "KEYWARD_BEHIND_PROXY": "1",
            "KEYWARD_TRUST_X_FORWARDED_FOR": "1",
            "STATIC_ROOT": str(workdir / "static"),
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "KEYWARD_GITHUB_SECRET_SCANNING_KEYS_FILE": str(keys_file),
            "KEYWARD_GITHUB_SECRET_SCANNING_KEYS_URL": "http://127.0.0.1:9/unused",
            "KEYWARD_API_AUTH_FAILURES_PER_IP": str(API_FAILURES_PER_IP),
            "KEYWARD_LOGIN_FAILURES_PER_ACCOUNT": str(LOGIN_FAILURES_PER_ACCOUNT),
            "GUNICORN_ACCESS_LOG": str(access_log),
            # A busy test machine loads the app slowly (35 s seen): old workers may serve that
            # long after a HUP, until the new ones are ready (config/handover.py).
            "GUNICORN_GRACEFUL_TIMEOUT": "120",
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "metrics"),
        }
        with timed("migrate, collectstatic, people"):
            servers.manage("migrate", "--noinput", env=env)
            servers.manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
            servers.manage("shell", "--command", PEOPLE, env=env)
            backend = servers.manage("shell", "--command", CACHE_BACKEND, env=env).stdout
            assert "RedisCache" in backend, f"REDIS_URL did not select Redis: {backend}"
        with timed(f"gunicorn ({WORKERS} workers)"):
            gunicorn = running.enter_context(
                servers.running(servers.start_gunicorn(workdir, env, workers=WORKERS))
            )
        with timed("task worker"):
            worker = running.enter_context(
                servers.running(
                    servers.start_worker(workdir, env, ready=lambda: heartbeat(database))
                )
            )
        with timed("nginx"):
            site = servers.render(
                SITE,
                {
                    "UPSTREAM": f"127.0.0.1:{gunicorn.port}",
                    "HTTP_LISTEN": f"127.0.0.1:{http_port}",
                    "HTTPS_LISTEN": f"127.0.0.1:{https_port}",
                    "SERVER_NAME": "localhost 127.0.0.1",
                    "TLS_CERTIFICATE": str(certificate),
                    "TLS_CERTIFICATE_KEY": str(certificate_key),
                },
            )
            nginx = running.enter_context(servers.running(servers.start_nginx(workdir, site)))
            servers.wait_until(
                lambda: servers.accepts_connections(https_port),
                what="nginx",
                process=nginx.process,
                log=workdir / "nginx" / "logs" / "error.log",
            )
        built = Stack(
            workdir=workdir,
            env=env,
            https_port=https_port,
            certificate=certificate,
            github_key=github_key,
            mail_dir=mail_dir,
            access_log=access_log,
            gunicorn=gunicorn,
            redis=redis,
            worker=worker,
            timings=timings,
        )
        spent = ", ".join(f"{step} {seconds:.1f}s" for step, seconds in timings.items())
        with capture.global_and_fixture_disabled():
            report.write_line(f"\ndeployment stack started: {spent}")
        yield built
